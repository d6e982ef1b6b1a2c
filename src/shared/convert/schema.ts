// JSON Schema → the subset Claude's constrained decoding accepts (structured outputs, strict tools).
// Same rules as the official SDKs' schema transform: every object closed with
// `additionalProperties: false` (anything else is a 400: "additionalProperties: true is not
// supported"), `oneOf` as `anyOf`, and keywords the grammar cannot enforce (minimum, maxLength,
// pattern, …) moved into `description` so the model still reads them.

type Schema = Record<string, unknown>;

const STRING_FORMATS = new Set([
  "date-time",
  "time",
  "date",
  "duration",
  "email",
  "hostname",
  "uri",
  "ipv4",
  "ipv6",
  "uuid",
]);

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPrimitive(v: unknown): boolean {
  return v === null || typeof v !== "object";
}

function hasType(type: unknown, name: string): boolean {
  return type === name || (Array.isArray(type) && type.includes(name));
}

/** Returns a transformed copy; the input is not modified. Non-object input is returned as is. */
export function strictSchema(schema: unknown): Schema {
  return isSchema(schema) ? transform(schema) : {};
}

function transform(input: Schema): Schema {
  const rest: Schema = { ...input };
  const out: Schema = {};
  const take = (key: string): unknown => {
    const v = rest[key];
    delete rest[key];
    return v;
  };

  for (const key of ["$defs", "definitions"]) {
    const defs = take(key);
    if (isSchema(defs)) {
      out[key] = Object.fromEntries(Object.entries(defs).map(([k, v]) => [k, strictSchema(v)]));
    }
  }
  const ref = take("$ref");
  if (typeof ref === "string") {
    out.$ref = ref;
    return out; // siblings of $ref are not applied by the grammar
  }
  take("$schema");

  const enumValues = rest.enum;
  if (Array.isArray(enumValues) && enumValues.length > 0 && enumValues.every(isPrimitive))
    out.enum = take("enum");
  if ("const" in rest && isPrimitive(rest.const)) out.const = take("const");

  const type = take("type");
  if (type !== undefined) out.type = type;
  const anyOf = take("anyOf");
  const oneOf = take("oneOf");
  const allOf = take("allOf");
  if (Array.isArray(anyOf)) out.anyOf = anyOf.map(strictSchema);
  if (Array.isArray(oneOf))
    out.anyOf = [...((out.anyOf as Schema[] | undefined) ?? []), ...oneOf.map(strictSchema)];
  if (Array.isArray(allOf)) out.allOf = allOf.map(strictSchema);

  for (const key of ["description", "title"]) {
    const v = take(key);
    if (typeof v === "string") out[key] = v;
  }

  if (hasType(type, "object") || (type === undefined && isSchema(rest.properties))) {
    const props = take("properties");
    out.properties = isSchema(props)
      ? Object.fromEntries(Object.entries(props).map(([k, v]) => [k, strictSchema(v)]))
      : {};
    take("additionalProperties");
    out.additionalProperties = false;
    const required = take("required");
    if (Array.isArray(required)) out.required = required;
  }
  if (hasType(type, "string")) {
    const format = rest.format;
    if (typeof format === "string" && STRING_FORMATS.has(format)) out.format = take("format");
  }
  if (hasType(type, "array")) {
    const items = take("items");
    if (isSchema(items)) out.items = strictSchema(items);
    const minItems = rest.minItems;
    if (minItems === 0 || minItems === 1) out.minItems = take("minItems");
  }

  const leftover = Object.keys(rest);
  if (leftover.length > 0) {
    const notes = leftover.map((k) => `${k}: ${JSON.stringify(rest[k])}`).join(", ");
    out.description = typeof out.description === "string" ? `${out.description}\n\n{${notes}}` : `{${notes}}`;
  }
  return out;
}
