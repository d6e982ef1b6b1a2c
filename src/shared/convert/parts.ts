// OpenAI content parts → Anthropic content blocks: text, images (data URI → base64 source, http(s)
// → url source), PDFs as documents. A part Claude cannot take is refused by name, never dropped.
import { z } from "zod";
import type { CacheControl, DocumentBlock, ImageBlock, TextBlock } from "../anthropic/types.ts";
import { invalid, parseAt } from "./validate.ts";

export type UserBlock = TextBlock | ImageBlock | DocumentBlock;

/** Image types the Messages API accepts; `application/pdf` becomes a `document` block. */
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const SUPPORTED = "image/jpeg, image/png, image/gif, image/webp or application/pdf";

const CacheControlSchema = z.looseObject({
  type: z.literal("ephemeral"),
  ttl: z.enum(["5m", "1h"]).optional(),
});
const Typed = z.looseObject({ type: z.string() }, { error: "expected a content part object" });
const TextPart = z.looseObject({
  type: z.literal("text"),
  text: z.string(),
  cache_control: CacheControlSchema.optional(),
});
const RefusalPart = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });
const ImageUrlPart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.union([z.string(), z.looseObject({ url: z.string() })], {
    error: "expected an object with a 'url' string",
  }),
  cache_control: CacheControlSchema.optional(),
});
const FilePart = z.looseObject({
  type: z.literal("file"),
  file: z.looseObject({
    file_data: z.string().optional(),
    file_id: z.string().optional(),
    filename: z.string().optional(),
  }),
});
const Content = z.union([z.string(), z.array(z.unknown())], {
  error: "expected a string or an array of content parts",
});

/** Client-sent prompt-caching marks (an Anthropic extension some OpenAI clients use) are kept. */
function withCache<B extends UserBlock>(block: B, cc: z.output<typeof CacheControlSchema> | undefined): B {
  if (cc === undefined) return block;
  const cache: CacheControl =
    cc.ttl === undefined ? { type: "ephemeral" } : { type: "ephemeral", ttl: cc.ttl };
  block.cache_control = cache;
  return block;
}

function textBlock(text: string, cc?: z.output<typeof CacheControlSchema>): TextBlock {
  return withCache({ type: "text", text }, cc);
}

function contentAt(content: unknown, param: string): string | unknown[] {
  if (content === undefined) throw invalid(param, `Missing required parameter: '${param}'.`);
  return parseAt(Content, content, param);
}

/** User content: string or parts. Empty text is skipped (Anthropic rejects empty text blocks). */
export function userBlocks(content: unknown, param: string): UserBlock[] {
  const c = contentAt(content, param);
  if (typeof c === "string") return c === "" ? [] : [textBlock(c)];
  const out: UserBlock[] = [];
  for (let j = 0; j < c.length; j++) {
    const at = `${param}[${j}]`;
    const part = parseAt(Typed, c[j], at);
    switch (part.type) {
      case "text": {
        const p = parseAt(TextPart, part, at);
        if (p.text !== "") out.push(textBlock(p.text, p.cache_control));
        break;
      }
      case "image_url": {
        const p = parseAt(ImageUrlPart, part, at);
        const url = typeof p.image_url === "string" ? p.image_url : p.image_url.url;
        out.push(fromUrl(url, `${at}.image_url.url`, p.cache_control));
        break;
      }
      case "file":
        out.push(fromFile(parseAt(FilePart, part, at), `${at}.file`));
        break;
      case "input_audio":
        throw invalid(`${at}.type`, "Audio input (input_audio) is not supported by Claude.");
      default:
        throw invalid(`${at}.type`, `Content part type '${part.type}' is not supported by Claude.`);
    }
  }
  return out;
}

/** System, developer and tool content: string or text parts; assistant content may also hold refusals. */
export function textBlocks(content: unknown, param: string, allowRefusal = false): TextBlock[] {
  const c = contentAt(content, param);
  if (typeof c === "string") return c === "" ? [] : [textBlock(c)];
  const out: TextBlock[] = [];
  for (let j = 0; j < c.length; j++) {
    const at = `${param}[${j}]`;
    const part = parseAt(Typed, c[j], at);
    if (part.type === "text") {
      const p = parseAt(TextPart, part, at);
      if (p.text !== "") out.push(textBlock(p.text, p.cache_control));
    } else if (part.type === "refusal" && allowRefusal) {
      const p = parseAt(RefusalPart, part, at);
      if (p.refusal !== "") out.push(textBlock(p.refusal));
    } else {
      const allowed = allowRefusal ? "'text' and 'refusal' parts" : "only 'text' parts";
      throw invalid(`${at}.type`, `Content part type '${part.type}' is not allowed here: ${allowed} are.`);
    }
  }
  return out;
}

function fromUrl(url: string, param: string, cc?: z.output<typeof CacheControlSchema>): UserBlock {
  if (url.startsWith("data:")) {
    const { mediaType, data } = parseDataUri(url, param);
    if (mediaType === "application/pdf") {
      return withCache({ type: "document", source: { type: "base64", media_type: mediaType, data } }, cc);
    }
    return withCache({ type: "image", source: { type: "base64", media_type: mediaType, data } }, cc);
  }
  if (!/^https?:\/\//i.test(url)) {
    throw invalid(param, "Image URLs must be http(s) URLs or base64 data URIs (data:image/png;base64,…).");
  }
  if (/\.pdf(?:[?#]|$)/i.test(url)) return withCache({ type: "document", source: { type: "url", url } }, cc);
  return withCache({ type: "image", source: { type: "url", url } }, cc);
}

function fromFile(part: z.output<typeof FilePart>, param: string): UserBlock {
  const { file_data, file_id, filename } = part.file;
  if (file_data === undefined) {
    if (file_id !== undefined) {
      throw invalid(
        `${param}.file_id`,
        "OpenAI file ids cannot be read by Claude; send the file inline as file.file_data (a base64 data URI).",
      );
    }
    throw invalid(`${param}.file_data`, `Missing required parameter: '${param}.file_data'.`);
  }
  let block: UserBlock;
  if (file_data.startsWith("data:")) {
    block = fromUrl(file_data, `${param}.file_data`);
  } else if (filename !== undefined && /\.pdf$/i.test(filename) && file_data !== "") {
    // Some clients send bare base64 and let the filename say what it is.
    block = { type: "document", source: { type: "base64", media_type: "application/pdf", data: file_data } };
  } else {
    throw invalid(
      `${param}.file_data`,
      "file_data must be a base64 data URI (data:application/pdf;base64,…).",
    );
  }
  if (block.type === "document" && filename !== undefined) block.title = filename;
  return block;
}

/** `data:<media type>[;params];base64,<data>` → its media type and base64 payload. */
function parseDataUri(uri: string, param: string): { mediaType: string; data: string } {
  const comma = uri.indexOf(",");
  const header = comma === -1 ? "" : uri.slice(5, comma);
  const params = header.split(";");
  if (comma === -1 || !params.slice(1).some((p) => p.toLowerCase() === "base64")) {
    throw invalid(param, "Data URIs must be base64-encoded: data:<media type>;base64,<data>.");
  }
  let mediaType = (params[0] ?? "").trim().toLowerCase();
  if (mediaType === "image/jpg") mediaType = "image/jpeg";
  const data = uri.slice(comma + 1);
  if (data === "") throw invalid(param, "The data URI carries no data.");
  if (!IMAGE_TYPES.has(mediaType) && mediaType !== "application/pdf") {
    throw invalid(
      param,
      `Media type '${mediaType || "(none)"}' is not supported by Claude; use ${SUPPORTED}.`,
    );
  }
  return { mediaType, data };
}
