import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

/** `llmd up` flags (camelCase; the CLI spells them in kebab-case). */
export const upOptionsSchema = z
  .object({
    replicas: z.coerce.number().int().min(1).max(64).default(4).describe('simulated model-server pods'),
    model: z.string().min(1).default('Qwen/Qwen3-0.6B').describe('model name the pods serve'),
    tokenizer: z
      .string()
      .min(1)
      .optional()
      .describe(
        "tokenizer.json, folder or cached Hugging Face model for the pods (default: the simulator's word tokenizer)",
      ),
    port: port.default(8000).describe('gateway port (OpenAI API at http://localhost:<port>/v1)'),
    host: z.string().min(1).default('127.0.0.1').describe('interface to bind'),
    extProc: z
      .union([z.literal(true), port])
      .optional()
      .describe('also serve Envoy ext_proc (plaintext) on this port (default 9002)'),
    config: z.string().min(1).optional().describe("your EndpointPickerConfig YAML instead of the path's"),
    timeScale: z.coerce
      .number()
      .positive()
      .default(1)
      .describe('simulated pods run this many times faster than real time'),
    prefillTimePerToken: z
      .string()
      .optional()
      .describe('simulated prefill time per uncached prompt token (e.g. 0.1ms)'),
    interTokenLatency: z.string().optional().describe('simulated time per output token (e.g. 10ms)'),
    numGpuBlocks: z.coerce.number().int().positive().optional().describe('KV blocks per simulated pod'),
    demo: z
      .boolean()
      .default(false)
      .describe('after start-up, send a little demo traffic and print where each request went'),
    maxNumSeqs: z.coerce.number().int().positive().optional().describe('requests each pod runs at once'),
  })
  .strict();

export type UpOptions = z.output<typeof upOptionsSchema>;
