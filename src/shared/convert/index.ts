// The OpenAI ⇄ Anthropic conversion core, shared by the Worker (API mode) and the sidecar.
export { type ModelProfile, modelProfile } from "./capabilities.ts";
export { type TranslatedError, translateUpstreamError } from "./errors.ts";
export { completionId, finishReason, openaiUsage } from "./finish.ts";
export { goDuration, openaiResponseHeaders } from "./headers.ts";
export { ADAPTIVE_EFFORT, THINKING_BUDGET } from "./reasoning.ts";
export {
  type ConvertedRequest,
  type OpenAIRequestContext,
  openaiToAnthropicRequest,
  type RequestOptions,
} from "./request.ts";
export { anthropicToOpenAIResponse, type ResponseOptions } from "./response.ts";
export { AnthropicToOpenAIStream, OpenAIStreamConverter, type StreamOptions } from "./stream.ts";
