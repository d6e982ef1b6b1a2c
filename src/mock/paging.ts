// The API's id-cursor pagination (`limit`, `after_id`, `before_id` → data, has_more, first_id, last_id).
import { invalidRequest } from "./errors.ts";

export interface Page<T> {
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export function paginate<T extends { id: string }>(items: readonly T[], query: URLSearchParams): Page<T> {
  const limitText = query.get("limit");
  let limit = 20;
  if (limitText !== null) {
    if (!/^\d+$/.test(limitText)) throw invalidRequest("limit: Input should be a valid integer");
    limit = Number(limitText);
    if (limit < 1) throw invalidRequest("limit: Input should be greater than or equal to 1");
    if (limit > 1000) throw invalidRequest("limit: Input should be less than or equal to 1000");
  }
  const afterId = query.get("after_id");
  const beforeId = query.get("before_id");
  let slice: readonly T[];
  let hasMore: boolean;
  if (beforeId !== null) {
    const end = items.findIndex((item) => item.id === beforeId);
    const stop = end === -1 ? 0 : end;
    const start = Math.max(0, stop - limit);
    slice = items.slice(start, stop);
    hasMore = start > 0;
  } else {
    const start = afterId === null ? 0 : items.findIndex((item) => item.id === afterId) + 1;
    const from = afterId !== null && start === 0 ? items.length : start;
    slice = items.slice(from, from + limit);
    hasMore = from + limit < items.length;
  }
  return {
    data: [...slice],
    has_more: hasMore,
    first_id: slice[0]?.id ?? null,
    last_id: slice[slice.length - 1]?.id ?? null,
  };
}
