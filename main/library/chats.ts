import type { Db } from './database';

export type MessageRole = 'user' | 'assistant' | 'system';

export interface Chat {
  id: number;
  docId: string | null;
  /** The collection the chat's questions were asked of (null: a chat about one document, or none). */
  collectionId: number | null;
  title: string;
  createdAt: number;
  updatedAt: number;
}

export interface Message {
  id: number;
  chatId: number;
  role: MessageRole;
  content: string;
  /** Citations, evidence ranges, model, timings: whatever the assistant attaches. */
  meta: unknown;
  createdAt: number;
}

const CHAT_SELECT = 'SELECT id, doc_hash AS docId, collection_id AS collectionId, title, created_at AS createdAt, updated_at AS updatedAt FROM chats';

export class ChatStore {
  constructor(private readonly db: Db) {}

  create(docId: string | null, title: string, collectionId: number | null = null): Chat {
    const now = Date.now();
    const { lastInsertRowid } = this.db.prepare('INSERT INTO chats (doc_hash, collection_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(docId, collectionId, title, now, now);
    return { id: Number(lastInsertRowid), docId, collectionId, title, createdAt: now, updatedAt: now };
  }

  /**
   * A question and its answer, in one transaction: into chat `chatId`, or into a new chat on
   * `newChat.docId` titled `newChat.title` when `chatId` is null. Nothing is stored unless
   * all of it is: never a chat without its messages, nor a question without its answer.
   */
  addExchange(
    chatId: number | null,
    newChat: { docId: string | null; title: string; collectionId?: number },
    messages: ReadonlyArray<{ role: MessageRole; content: string; meta?: unknown }>,
  ): { chatId: number; messages: Message[] } {
    return this.db.transaction(() => {
      const id = chatId ?? this.create(newChat.docId, newChat.title, newChat.collectionId ?? null).id;
      return { chatId: id, messages: messages.map((m) => this.addMessage(id, m.role, m.content, m.meta ?? null)) };
    })();
  }

  list(docId?: string): Chat[] {
    return (docId ? this.db.prepare(`${CHAT_SELECT} WHERE doc_hash = ? ORDER BY updated_at DESC`).all(docId) : this.db.prepare(`${CHAT_SELECT} ORDER BY updated_at DESC`).all()) as Chat[];
  }

  /** The chats about a collection, latest first. */
  ofCollection(collectionId: number): Chat[] {
    return this.db.prepare(`${CHAT_SELECT} WHERE collection_id = ? ORDER BY updated_at DESC`).all(collectionId) as Chat[];
  }

  /** Adds a message and touches the chat in one transaction. */
  addMessage(chatId: number, role: MessageRole, content: string, meta: unknown = null): Message {
    const now = Date.now();
    return this.db.transaction(() => {
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO messages (chat_id, role, content, meta, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(chatId, role, content, meta === null ? null : JSON.stringify(meta), now);
      this.db.prepare('UPDATE chats SET updated_at = ? WHERE id = ?').run(now, chatId);
      return { id: Number(lastInsertRowid), chatId, role, content, meta, createdAt: now };
    })();
  }

  messages(chatId: number): Message[] {
    const rows = this.db
      .prepare('SELECT id, chat_id AS chatId, role, content, meta, created_at AS createdAt FROM messages WHERE chat_id = ? ORDER BY id')
      .all(chatId) as (Omit<Message, 'meta'> & { meta: string | null })[];
    return rows.map((r) => ({ ...r, meta: r.meta === null ? null : JSON.parse(r.meta) }));
  }

  remove(chatId: number): boolean {
    return this.db.prepare('DELETE FROM chats WHERE id = ?').run(chatId).changes > 0;
  }
}
