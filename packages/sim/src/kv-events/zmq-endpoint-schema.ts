import { z } from 'zod';

/**
 * A ZeroMQ endpoint of a transport KV events can use. Checked at the boundary so that a typo such
 * as `localhost:5557` fails with the field's name instead of a bare "Invalid argument" from libzmq.
 */
export const zmqEndpointSchema = z
  .string()
  .regex(
    /^(tcp|ipc|inproc):\/\/\S+$/,
    'expected a ZeroMQ endpoint such as tcp://*:5557, ipc:///path or inproc://name',
  );
