import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

// Apart from node.ts so that tests which do not start a node in-process (test/fuzz) need not load the broker's sources.

/** Connects and resolves on CONNACK (rejects on refusal or error), no reconnects. */
export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
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
