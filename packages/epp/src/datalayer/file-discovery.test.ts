/**
 * File discovery on real files in a temporary folder: in-place edits, atomic renames, ConfigMap-style
 * symlink swaps, and keeping the last good set when the file breaks.
 */
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlmdError } from '@llmd/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Datastore } from './datastore.js';
import { FileDiscovery, parseEndpointFile } from './file-discovery.js';
import { createRecordingLogger } from './recording-logger.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function temporaryFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'llmd-file-discovery-'));
  cleanups.push(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

const yamlFile = (entries: string[]) => `endpoints:\n${entries.join('\n')}\n`;
const entry = (name: string, address: string, port = 8000, role = 'decode') =>
  `- name: ${name}\n  namespace: llm\n  address: ${address}\n  port: ${port}\n  labels: { llm-d.ai/role: ${role} }`;

const keys = (datastore: Datastore) => datastore.snapshot().map((state) => state.endpoint.key);

/** Writes a temporary file and renames it over the target, as editors and deploy tools do. */
async function replaceAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp-${Math.random().toString(16).slice(2)}`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

async function start(path: string) {
  const logger = createRecordingLogger();
  const discovery = new FileDiscovery({ path, debounceMilliseconds: 20, logger });
  cleanups.push(() => discovery.stop());
  const datastore = new Datastore();
  await discovery.start(datastore);
  return { discovery, datastore, logger };
}

describe('parseEndpointFile', () => {
  it('reads llm-d’s YAML and JSON formats', () => {
    const endpoints = parseEndpointFile(yamlFile([entry('vllm-0', '10.0.0.11', 8000, 'prefill')]));
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]).toMatchObject({
      key: '10.0.0.11:8000',
      name: 'vllm-0',
      namespace: 'llm',
      role: 'prefill',
      labels: { 'llm-d.ai/role': 'prefill' },
    });
    const fromJson = parseEndpointFile(
      JSON.stringify({
        endpoints: [{ address: '10.0.0.12', port: 8001, labels: { 'llm-d.ai/inference-serving': true } }],
      }),
    );
    expect(fromJson[0]).toMatchObject({
      key: '10.0.0.12:8001',
      name: '10.0.0.12:8001',
      namespace: 'default',
    });
    expect(fromJson[0]?.labels['llm-d.ai/inference-serving']).toBe('true');
  });

  it('names the failing field path', () => {
    const text = yamlFile([
      entry('vllm-0', '10.0.0.11'),
      '- name: vllm-1\n  address: 10.0.0.12\n  port: "eighty"',
    ]);
    expect(() => parseEndpointFile(text)).toThrow(/endpoints\[1\]\.port/);
    expect(() => parseEndpointFile('endpoints:\n- address: 10.0.0.1\n  port: 8000\n  prot: 1\n')).toThrow(
      /endpoints\[0\]/,
    );
    expect(() => parseEndpointFile(yamlFile([entry('a', '10.0.0.1'), entry('b', '10.0.0.1')]))).toThrow(
      /endpoints\[1\]: duplicates endpoints\[0\]/,
    );
    expect(() => parseEndpointFile('endpoints: [\n')).toThrow(/not valid YAML or JSON/);
    try {
      parseEndpointFile('');
    } catch (error) {
      expect(LlmdError.isInstance(error) && error.code).toBe('invalid_config');
    }
  });
});

describe('FileDiscovery', () => {
  it('loads the file, marks the datastore synced, and follows in-place edits', async () => {
    const folder = await temporaryFolder();
    const path = join(folder, 'endpoints.yaml');
    await writeFile(path, yamlFile([entry('vllm-0', '10.0.0.1')]));
    const { datastore } = await start(path);
    expect(datastore.synced).toBe(true);
    expect(keys(datastore)).toEqual(['10.0.0.1:8000']);

    await writeFile(path, yamlFile([entry('vllm-0', '10.0.0.1'), entry('vllm-1', '10.0.0.2')]));
    await vi.waitFor(() => expect(keys(datastore)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']));
  });

  it('follows a file replaced atomically by rename, repeatedly', async () => {
    const folder = await temporaryFolder();
    const path = join(folder, 'endpoints.yaml');
    await writeFile(path, yamlFile([entry('vllm-0', '10.0.0.1')]));
    const { datastore } = await start(path);

    await replaceAtomically(path, yamlFile([entry('vllm-1', '10.0.0.2')]));
    await vi.waitFor(() => expect(keys(datastore)).toEqual(['10.0.0.2:8000']));
    await replaceAtomically(path, yamlFile([entry('vllm-1', '10.0.0.2'), entry('vllm-2', '10.0.0.3')]));
    await vi.waitFor(() => expect(keys(datastore)).toEqual(['10.0.0.2:8000', '10.0.0.3:8000']));
  });

  it('follows a ConfigMap-style symlink swap of the data folder', async () => {
    const folder = await temporaryFolder();
    await mkdir(join(folder, '..2026_01'));
    await writeFile(join(folder, '..2026_01', 'endpoints.yaml'), yamlFile([entry('vllm-0', '10.0.0.1')]));
    await symlink('..2026_01', join(folder, '..data'));
    await symlink(join('..data', 'endpoints.yaml'), join(folder, 'endpoints.yaml'));
    const { datastore } = await start(join(folder, 'endpoints.yaml'));
    expect(keys(datastore)).toEqual(['10.0.0.1:8000']);

    // What the kubelet does: write a new folder, point a temporary link at it, rename it over `..data`.
    await mkdir(join(folder, '..2026_02'));
    await writeFile(join(folder, '..2026_02', 'endpoints.yaml'), yamlFile([entry('vllm-9', '10.0.0.9')]));
    await symlink('..2026_02', join(folder, '..data_tmp'));
    await rename(join(folder, '..data_tmp'), join(folder, '..data'));
    await vi.waitFor(() => expect(keys(datastore)).toEqual(['10.0.0.9:8000']));
  });

  it('keeps the last good set when the file turns invalid or disappears, and logs a warning', async () => {
    const folder = await temporaryFolder();
    const path = join(folder, 'endpoints.yaml');
    await writeFile(path, yamlFile([entry('vllm-0', '10.0.0.1')]));
    const { datastore, logger } = await start(path);

    await replaceAtomically(path, 'endpoints:\n- address: 10.0.0.2\n  port: -1\n');
    await vi.waitFor(() =>
      expect(logger.messages('warn')).toContain('invalid endpoint file; keeping the last good set'),
    );
    expect(keys(datastore)).toEqual(['10.0.0.1:8000']);
    const warning = logger.records.find((record) => record.level === 'warn');
    expect(String(warning?.fields.error)).toMatch(/endpoints\[0\]\.port/);

    await unlink(path);
    await vi.waitFor(() =>
      expect(logger.messages('warn')).toContain('cannot read the endpoint file; keeping the last good set'),
    );
    expect(keys(datastore)).toEqual(['10.0.0.1:8000']);

    await replaceAtomically(path, yamlFile([entry('vllm-3', '10.0.0.3')]));
    await vi.waitFor(() => expect(keys(datastore)).toEqual(['10.0.0.3:8000']));
  });

  it('fails to start on a missing or invalid file', async () => {
    const folder = await temporaryFolder();
    const missing = new FileDiscovery({ path: join(folder, 'absent.yaml') });
    await expect(missing.start(new Datastore())).rejects.toThrow(/cannot read endpoint file/);
    const path = join(folder, 'bad.yaml');
    await writeFile(path, 'endpoints:\n- address: 10.0.0.1\n');
    const invalid = new FileDiscovery({ path });
    await expect(invalid.start(new Datastore())).rejects.toThrow(/endpoints\[0\]\.port/);
  });

  it('does not watch when watching is off', async () => {
    const folder = await temporaryFolder();
    const path = join(folder, 'endpoints.json');
    await writeFile(path, JSON.stringify({ endpoints: [{ address: '10.0.0.1', port: 8000 }] }));
    const discovery = new FileDiscovery({ path, watch: false, debounceMilliseconds: 1 });
    cleanups.push(() => discovery.stop());
    const datastore = new Datastore();
    await discovery.start(datastore);
    await writeFile(path, JSON.stringify({ endpoints: [] }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(keys(datastore)).toEqual(['10.0.0.1:8000']);
  });
});
