import { AlignmentType, Document, HeadingLevel, ImageRun, LevelFormat, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';

/** A 1x1 PNG. */
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/**
 * A small Word document written by the `docx` package (as Word would store it): core
 * properties, a title, two chapters with a subsection, a bulleted and a numbered list, a table.
 */
export async function sampleDocx(options: { coreTitle?: boolean; picture?: boolean } = {}): Promise<Buffer> {
  const cell = (text: string) => new TableCell({ children: [new Paragraph(text)] });
  const doc = new Document({
    ...(options.coreTitle === false ? {} : { title: 'Harbour Notes' }),
    creator: 'Ada Quill',
    numbering: {
      config: [{ reference: 'steps', levels: [{ level: 0, format: LevelFormat.DECIMAL, text: '%1.', alignment: AlignmentType.START }] }],
    },
    sections: [
      {
        children: [
          new Paragraph({ text: 'Harbour Notes', heading: HeadingLevel.TITLE }),
          new Paragraph({ text: 'The Lighthouse', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun('The keeper climbed the tower every evening at dusk. '), new TextRun({ text: 'The lamp never failed him.', bold: true })] }),
          new Paragraph({ text: 'Supplies', heading: HeadingLevel.HEADING_2 }),
          new Paragraph({ text: 'oil for the lamp', bullet: { level: 0 } }),
          new Paragraph({ text: 'bread and salted fish', bullet: { level: 0 } }),
          new Paragraph({ text: 'The Storm', heading: HeadingLevel.HEADING_1 }),
          new Paragraph('A storm came in from the west and the boats ran for the harbour.'),
          new Paragraph({ text: 'close the shutters', numbering: { reference: 'steps', level: 0 } }),
          new Paragraph({ text: 'light the lamp', numbering: { reference: 'steps', level: 0 } }),
          new Table({
            rows: [
              new TableRow({ children: [cell('Boat'), cell('Crew')] }),
              new TableRow({ children: [cell('Mary Rose'), cell('four')] }),
            ],
          }),
          new Paragraph('By morning every boat was safe in the harbour.'),
          ...(options.picture ? [new Paragraph({ children: [new ImageRun({ type: 'png', data: PIXEL, transformation: { width: 10, height: 10 } })] })] : []),
        ],
      },
    ],
  });
  return Packer.toBuffer(doc);
}
