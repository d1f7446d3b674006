import { gatehouse } from '../brokers/setups.js';
import type { Scenario } from '../harness/scenario.js';
import { throughput } from '../workloads/throughput.js';

/**
 * Issue 5: the STOMP gateway's cost per message. The same Gatehouse (with
 * `gateway.stomp` on a second listener) carries MQTT→MQTT traffic in the
 * baseline and STOMP→MQTT or MQTT→STOMP in the candidate, alternating rounds
 * in the same bench run. QoS 0 everywhere: a STOMP SEND is a QoS 0 publish.
 */

const STOMP = 'gateway.stomp { listeners.tcp.default.bind = "127.0.0.1:0" }';
const mqttToMqtt = throughput({ qos: 0 });

export const scenarios: Scenario[] = [
  {
    name: 'stomp-to-mqtt',
    description: 'messages/s STOMP SEND → MQTT subscriber vs MQTT → MQTT, same Gatehouse',
    baseline: gatehouse('mqtt-mqtt', STOMP),
    candidate: gatehouse('stomp-mqtt', STOMP),
    workload: { baseline: mqttToMqtt, candidate: throughput({ qos: 0, publisher: 'stomp' }) },
    target: { ratio: 0.7 },
  },
  {
    name: 'mqtt-to-stomp',
    description: 'messages/s MQTT publisher → STOMP subscriber vs MQTT → MQTT, same Gatehouse',
    baseline: gatehouse('mqtt-mqtt', STOMP),
    candidate: gatehouse('mqtt-stomp', STOMP),
    workload: { baseline: mqttToMqtt, candidate: throughput({ qos: 0, subscriber: 'stomp' }) },
    target: { ratio: 0.7 },
  },
];
