// Query and path parameters arrive as text, and are read here, once for every route, against
// the route's own schema: one strict grammar for numbers and booleans, before validation.
//
// Why not Ajv's coercion (coerceTypes): it turns into a number any text that JavaScript's
// Number() reads, so "Infinity", "-Infinity", "1e309" (Infinity again), "0x10" and " " (0)
// all became numbers; it does not check the type again after coercing, and its range keywords
// (minimum, maximum) pass over a number that is not finite. limit=Infinity therefore passed
// `minimum: 1, maximum: 1000` and reached SQLite, which refused it: a 500 on every list route.
// With coercion off, Ajv's type check refuses a number that is not finite, and what it refuses
// is a 400 naming the parameter (app.ts's error handler).

/** Whole numbers in decimal, optionally negative (the range is the schema's to judge). */
const INTEGER = /^-?\d+$/;
/** Decimal numbers; no exponent, hex, Infinity, NaN or surrounding space. */
const DECIMAL = /^-?\d+(\.\d+)?$/;

interface PropertySchema {
  readonly type?: unknown;
}

/** One parameter's text as its schema's type; text that is not in the grammar stays text (and fails validation). */
export function parseParameter(schema: PropertySchema | undefined, text: string): unknown {
  switch (schema?.type) {
    case 'integer':
    case 'number': {
      if (!(schema.type === 'integer' ? INTEGER : DECIMAL).test(text)) return text;
      const n = Number(text);
      // A run of digits longer than a double holds reads as Infinity: kept as text, refused as not a number.
      return Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

/**
 * Reads every text value of `values` (a request's query or path parameters) whose property
 * in `schema` is an integer, number or boolean, in place. A repeated parameter (an array)
 * and anything the schema does not know are left as they are for validation to refuse.
 */
export function parseParameters(schema: unknown, values: unknown): void {
  if (typeof schema !== 'object' || schema === null || typeof values !== 'object' || values === null) return;
  const properties = (schema as { properties?: Record<string, PropertySchema> }).properties;
  if (!properties) return;
  const record = values as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const text = record[name];
    if (typeof text !== 'string' || !Object.hasOwn(properties, name)) continue;
    record[name] = parseParameter(properties[name], text);
  }
}
