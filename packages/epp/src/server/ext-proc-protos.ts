import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LlmdError } from '@llmd/core';
import type { ProcessingRequestMessage, ProcessingResponseMessage } from './ext-proc-messages.js';
import { eppProtoDirectory } from './proto-directory.js';

/** The options the EPP's ext_proc messages are converted with (see ext-proc-messages.ts). */
export const extProcLoaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

const extProcPackage = 'envoy.service.ext_proc.v3';
const processingModePackage = 'envoy.extensions.filters.http.ext_proc.v3';
const extProcProtoFile = 'envoy/service/ext_proc/v3/external_processor.proto';
const additionsProtoFile = 'llmd/ext_proc_additions.proto';

export interface ExtProcProtos {
  readonly packageDefinition: protoLoader.PackageDefinition;
  /** `envoy.service.ext_proc.v3.ExternalProcessor`, ready for `grpc.Server.addService`. */
  readonly externalProcessorService: grpc.ServiceDefinition;
  /** Client constructor for the same service (test clients). */
  readonly ExternalProcessorClient: grpc.ServiceClientConstructor;
  /** Envoy's `type.v3.StatusCode` enum: name by HTTP status number. */
  readonly httpStatusNames: ReadonlyMap<number, string>;
  encodeProcessingRequest(message: ProcessingRequestMessage): Buffer;
  decodeProcessingRequest(bytes: Uint8Array): ProcessingRequestMessage;
  encodeProcessingResponse(message: ProcessingResponseMessage): Buffer;
  decodeProcessingResponse(bytes: Uint8Array): ProcessingResponseMessage;
}

/*
 * The few protobufjs reflection members used below. protobufjs is not a direct dependency: it is
 * loaded from @grpc/proto-loader's own dependencies (see loadProtobufjs), so its types are not
 * importable here.
 */
interface ReflectionType {
  readonly fields: Record<string, { readonly id: number } | undefined>;
  readonly oneofs: Record<string, ReflectionOneOf | undefined> | undefined;
  add(object: unknown): ReflectionType;
  toJSON(): unknown;
}
interface ReflectionOneOf {
  add(field: unknown): ReflectionOneOf;
}
interface ReflectionEnum {
  readonly values: Record<string, number | undefined>;
  add(name: string, id: number): ReflectionEnum;
}
interface ReflectionNamespace {
  add(object: unknown): ReflectionNamespace;
}
interface ReflectionRoot {
  resolvePath: (origin: string, target: string) => string | null;
  loadSync(filename: string, options: { keepCase: boolean }): ReflectionRoot;
  resolveAll(): ReflectionRoot;
  lookup(path: string): unknown;
  lookupType(path: string): ReflectionType;
  lookupEnum(path: string): ReflectionEnum;
  toJSON(): Parameters<typeof protoLoader.fromJSON>[0];
}
interface Protobufjs {
  Root: new () => ReflectionRoot;
  Field: new (name: string, id: number, type: string) => unknown;
  Type: { fromJSON(name: string, json: unknown): unknown };
}

/**
 * protobufjs exactly as @grpc/proto-loader uses it: resolved from proto-loader's location, so it is
 * the same module instance (its built-in well-known types included) that `fromJSON` builds on.
 */
function loadProtobufjs(): Protobufjs {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('@grpc/proto-loader'))('protobufjs') as Protobufjs;
}

/** Envoy's API protos and their dependencies, as shipped by @grpc/grpc-js-xds. */
export function envoyProtoIncludeDirectories(): string[] {
  const xdsDirectory = dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((name) =>
    join(xdsDirectory, 'deps', name),
  );
}

function withIncludePaths(root: ReflectionRoot, includeDirectories: ReadonlyArray<string>): ReflectionRoot {
  const fallback = root.resolvePath;
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    for (const directory of includeDirectories) {
      const candidate = join(directory, target);
      if (existsSync(candidate)) return candidate;
    }
    return fallback(origin, target);
  };
  return root;
}

/**
 * Attaches a field to a message unless the loaded Envoy copy already has it, in which case its
 * number must be Envoy's (a mismatch would silently break the wire format).
 */
function ensureField(
  protobuf: Protobufjs,
  type: ReflectionType,
  typeName: string,
  field: { name: string; id: number; type: string; oneof?: string },
): void {
  const existing = type.fields[field.name];
  if (existing !== undefined) {
    if (existing.id !== field.id) {
      throw new LlmdError(
        'internal',
        `${typeName}.${field.name} has number ${existing.id} in the loaded Envoy protos, expected ${field.id}`,
      );
    }
    return;
  }
  const created = new protobuf.Field(field.name, field.id, field.type);
  type.add(created);
  if (field.oneof !== undefined) {
    const oneof = type.oneofs?.[field.oneof];
    if (oneof === undefined) throw new LlmdError('internal', `${typeName} has no oneof ${field.oneof}`);
    oneof.add(created);
  }
}

/**
 * Loads Envoy's ext_proc service with what FULL_DUPLEX_STREAMED needs on top of @grpc/grpc-js-xds'
 * older copy of the API:
 * - the messages in proto/llmd/ext_proc_additions.proto (`StreamedBodyResponse`,
 *   `ProtocolConfiguration`), each copied in only when Envoy's copy lacks it, so a newer
 *   grpc-js-xds that ships them does not fail on duplicate names;
 * - the fields referring to them, which protobuf syntax cannot add to a message declared in
 *   another file: `BodyMutation.streamed_response = 3` (in oneof `mutation`, as in Envoy) and
 *   `ProcessingRequest.protocol_config = 11`;
 * - `ProcessingMode.BodySendMode.FULL_DUPLEX_STREAMED = 4`, so Envoy's mode decodes by name.
 * The patched protobufjs root then goes through proto-loader's `fromJSON`, which applies the usual
 * loader options. Loading takes a few tens of milliseconds; nothing is cached across calls.
 */
export function loadExtProcProtos(): ExtProcProtos {
  const protobuf = loadProtobufjs();
  const includeDirectories = envoyProtoIncludeDirectories();
  const root = withIncludePaths(new protobuf.Root(), includeDirectories);
  root.loadSync(extProcProtoFile, { keepCase: true });
  root.resolveAll();

  const additions = withIncludePaths(new protobuf.Root(), [eppProtoDirectory(), ...includeDirectories]);
  additions.loadSync(additionsProtoFile, { keepCase: true });
  const extProcNamespace = root.lookup(extProcPackage) as ReflectionNamespace;
  for (const name of ['StreamedBodyResponse', 'ProtocolConfiguration']) {
    if (root.lookup(`${extProcPackage}.${name}`) === null) {
      extProcNamespace.add(
        protobuf.Type.fromJSON(name, additions.lookupType(`${extProcPackage}.${name}`).toJSON()),
      );
    }
  }
  ensureField(protobuf, root.lookupType(`${extProcPackage}.BodyMutation`), 'BodyMutation', {
    name: 'streamed_response',
    id: 3,
    type: 'StreamedBodyResponse',
    oneof: 'mutation',
  });
  ensureField(protobuf, root.lookupType(`${extProcPackage}.ProcessingRequest`), 'ProcessingRequest', {
    name: 'protocol_config',
    id: 11,
    type: 'ProtocolConfiguration',
  });
  const bodySendMode = root.lookupEnum(`${processingModePackage}.ProcessingMode.BodySendMode`);
  if (bodySendMode.values.FULL_DUPLEX_STREAMED === undefined) bodySendMode.add('FULL_DUPLEX_STREAMED', 4);
  root.resolveAll();

  const packageDefinition = protoLoader.fromJSON(root.toJSON(), extProcLoaderOptions);
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    envoy: { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } };
  };
  const ExternalProcessorClient = loaded.envoy.service.ext_proc.v3.ExternalProcessor;
  const externalProcessorService = ExternalProcessorClient.service;
  const process = externalProcessorService.Process;
  if (process === undefined) throw new LlmdError('internal', 'ExternalProcessor has no Process method');

  const statusCodes = packageDefinition['envoy.type.v3.StatusCode'] as
    | { type: { value: Array<{ name: string; number: number }> } }
    | undefined;
  const httpStatusNames = new Map<number, string>();
  for (const { name, number } of statusCodes?.type.value ?? []) httpStatusNames.set(number, name);

  return {
    packageDefinition,
    externalProcessorService,
    ExternalProcessorClient,
    httpStatusNames,
    encodeProcessingRequest: (message) => process.requestSerialize(message),
    decodeProcessingRequest: (bytes) =>
      process.requestDeserialize(Buffer.from(bytes)) as ProcessingRequestMessage,
    encodeProcessingResponse: (message) => process.responseSerialize(message),
    decodeProcessingResponse: (bytes) =>
      process.responseDeserialize(Buffer.from(bytes)) as ProcessingResponseMessage,
  };
}
