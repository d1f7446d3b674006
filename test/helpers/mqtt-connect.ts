import net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

// Apart from node.ts so that tests which do not start a node in-process (test/fuzz) need not load the broker's sources.

/** Connects and resolves on CONNACK (rejects on refusal or error), no reconnects. */
export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return connected(mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options }));
}

/**
 * `connect` over TCP from a chosen local address (127.0.0.2, 127.0.0.3, … are different
 * sources to the broker): mqtt.js has no `localAddress` option, so the socket is built here.
 */
export function connectFrom(port: number, localAddress: string, options: IClientOptions = {}): Promise<MqttClient> {
  const build = () => net.connect({ host: '127.0.0.1', port, localAddress });
  return connected(new mqtt.MqttClient(build, { protocol: 'mqtt', reconnectPeriod: 0, connectTimeout: 5000, ...options }));
}

/** Resolves with the client on CONNACK; rejects with the refusal (its `code`) or a close before it. */
function connected(client: MqttClient): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      client.end(true);
      reject(err);
    };
    client.once('connect', () => {
      client.off('error', onError);
      client.on('error', () => undefined);
      resolve(client);
    });
    client.once('error', onError);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** The CONNACK code a refused client got (reasonCode for v5, returnCode for v3); 0 when let in (closed again). */
export async function connackCodeOf(connecting: Promise<MqttClient>): Promise<number> {
  try {
    const c = await connecting;
    c.end(true);
    return 0;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}
