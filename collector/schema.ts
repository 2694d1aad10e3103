// Small builders for the collector's TypeBox schemas (the API's, the findings', the settings').
import { Type, type SchemaOptions, type TLiteral, type TNull, type TSchema, type TUnion } from '@sinclair/typebox';

/** One of `xs`; `options` is a description, or the schema's options. */
export const literals = <T extends string>(xs: readonly T[], options: string | SchemaOptions = {}): TUnion<TLiteral<T>[]> =>
  Type.Union(xs.map((x) => Type.Literal(x)), typeof options === 'string' ? { description: options } : options);

/** `t` or null. */
export const nullable = <T extends TSchema>(t: T, description?: string): TUnion<[T, TNull]> =>
  Type.Union([t, Type.Null()], description === undefined ? {} : { description });
