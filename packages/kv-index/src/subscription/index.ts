export { createKvEventSubscriber, type KvEventSubscriber } from './create-kv-event-subscriber.js';
export type {
  KvEventDelivery,
  KvEventPublisherIdentity,
  KvEventUncertainty,
  KvEventUncertaintyReason,
} from './kv-event-delivery.js';
export type {
  CentralKvEventSubscriberOptions,
  KvEventEndpointTarget,
  KvEventSubscriberCommonOptions,
  KvEventSubscriberOptions,
  PerPodKvEventSubscriberOptions,
} from './kv-event-subscriber-options.js';
export type {
  KvEventCounters,
  KvEventEndpointStats,
  KvEventPublisherStreamStats,
  KvEventStreamState,
  KvEventSubscriberStats,
  KvEventSubscriberTotals,
} from './kv-event-subscriber-stats.js';
export {
  type LiveMessage,
  type LiveMessageFrames,
  type ParseLiveMessageFramesOptions,
  parseLiveMessageFrames,
} from './live-message-frames.js';
export { parseReplayReplyFrames, type ReplayReply } from './replay-reply-frames.js';
export { type ReplayItem, type RequestReplayOptions, requestReplay } from './request-replay.js';
export { decodeSequenceFrame, encodeSequenceFrame, endOfReplaySequence } from './sequence-frame.js';
