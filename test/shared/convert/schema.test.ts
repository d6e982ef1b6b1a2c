// JSON Schema → Claude's structured-output subset.
import { describe, expect, it } from "vitest";
import { strictSchema } from "../../../src/shared/convert/schema.ts";

describe("strictSchema", () => {
  it("leaves an already-strict schema unchanged (the one Claude Code itself sends)", () => {
    const schema = {
      type: "object",
      properties: { title: { type: "string" } },
      required: ["title"],
      additionalProperties: false,
    };
    expect(strictSchema(schema)).toEqual(schema);
  });

  it("closes every object, including nested, nullable and open ones", () => {
    expect(
      strictSchema({
        type: "object",
        additionalProperties: true,
        properties: {
          meta: { type: ["object", "null"], properties: { k: { type: "string" } } },
          free: { type: "object", additionalProperties: { type: "string" } },
          list: { type: "array", items: { type: "object", properties: { x: { type: "number" } } } },
        },
      }),
    ).toEqual({
      type: "object",
      additionalProperties: false,
      properties: {
        meta: {
          type: ["object", "null"],
          properties: { k: { type: "string" } },
          additionalProperties: false,
        },
        free: { type: "object", properties: {}, additionalProperties: false },
        list: {
          type: "array",
          items: { type: "object", properties: { x: { type: "number" } }, additionalProperties: false },
        },
      },
    });
  });

  it("moves constraints the grammar cannot enforce into the description and keeps supported ones", () => {
    expect(
      strictSchema({
        type: "object",
        properties: {
          age: { type: "integer", minimum: 0, maximum: 150, description: "Age" },
          email: { type: "string", format: "email" },
          code: { type: "string", pattern: "^[A-Z]{3}$", format: "iso-4217" },
          tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 5 },
          many: { type: "array", items: { type: "string" }, minItems: 3 },
          color: { enum: ["red", "green"] },
          fixed: { const: 1 },
        },
      }),
    ).toEqual({
      type: "object",
      additionalProperties: false,
      properties: {
        age: { type: "integer", description: "Age\n\n{minimum: 0, maximum: 150}" },
        email: { type: "string", format: "email" },
        code: { type: "string", description: '{pattern: "^[A-Z]{3}$", format: "iso-4217"}' },
        tags: { type: "array", items: { type: "string" }, minItems: 1, description: "{maxItems: 5}" },
        many: { type: "array", items: { type: "string" }, description: "{minItems: 3}" },
        color: { enum: ["red", "green"] },
        fixed: { const: 1 },
      },
    });
  });

  it("turns oneOf into anyOf and transforms $defs, keeping $ref", () => {
    expect(
      strictSchema({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        $defs: { Pt: { type: "object", properties: { x: { type: "number" } } } },
        type: "object",
        properties: { p: { $ref: "#/$defs/Pt" }, v: { oneOf: [{ type: "string" }, { type: "number" }] } },
        required: ["p"],
      }),
    ).toEqual({
      $defs: { Pt: { type: "object", properties: { x: { type: "number" } }, additionalProperties: false } },
      type: "object",
      properties: { p: { $ref: "#/$defs/Pt" }, v: { anyOf: [{ type: "string" }, { type: "number" }] } },
      additionalProperties: false,
      required: ["p"],
    });
  });

  it("does not modify its input", () => {
    const input = { type: "object", properties: { a: { type: "string", minLength: 2 } } };
    const copy = structuredClone(input);
    strictSchema(input);
    expect(input).toEqual(copy);
  });
});
