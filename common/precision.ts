/** How a model's linear layers run: fp32, or int8 weights (per output channel) with activations quantized per call. */
export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];
