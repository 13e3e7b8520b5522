import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';

/** Chat content part types that need a multimodal encoder. */
export const multimodalContentPartTypes: ReadonlySet<string> = new Set([
  'image_url',
  'video_url',
  'input_audio',
]);

/** Whether any chat message carries an image, video or audio content part. */
export function hasMultimodalContent(request: SchedulingRequest): boolean {
  for (const message of request.body?.messages ?? []) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) if (multimodalContentPartTypes.has(part.type)) return true;
  }
  return false;
}

/** Encode decider: disaggregates the encode stage for requests with multimodal content. */
export const alwaysDisaggMultimodalDeciderPlugin = definePlugin({
  type: 'always-disagg-multimodal-decider',
  stability: 'Beta',
  create: () => ({ shouldDisaggregate: (request) => hasMultimodalContent(request) }),
});
