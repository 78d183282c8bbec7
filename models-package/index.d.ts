/** Absolute path of the package's registry root (a directory). */
export declare const registryRoot: string;
/** The models in the tree, with the aliases and variants they carry. */
export declare const models: ReadonlyArray<{
  readonly id: string;
  readonly task: 'image-classification' | 'text-generation' | 'image-generation' | 'text-classification' | 'feature-extraction';
  readonly version: string;
  readonly aliases: readonly string[];
  readonly variants: readonly string[];
}>;
