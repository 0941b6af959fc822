// Svelte 5 in runes mode everywhere (components and *.svelte.ts state modules).
export default {
  compilerOptions: { runes: true },
};
