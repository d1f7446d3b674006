import { parseDuration } from '../../config/hocon/units.js';
import { configuredListeners } from '../../config/listeners.js';
import type { ConfigProblem } from '../../config/load.js';
import type { FlappingDetectConfig, GatehouseConfig, ZoneFlappingDetectConfig } from '../../config/schema.js';
import type { FlappingPolicy, FlappingSettings } from './flapping.js';
import type { LoginFailureSettings } from './login-failures.js';

/** EMQX's default window_time (1m), kept when window_time = disable. */
const DEFAULT_WINDOW_MS = 60_000;

/** The global `flapping_detect` block with a zone's overrides on top, as a policy. */
function flappingPolicy(global: FlappingDetectConfig, zone: ZoneFlappingDetectConfig = {}): FlappingPolicy {
  const merged = { ...global, ...zone };
  // EMQX's old spelling: window_time = disable turns detection off (emqx_schema flapping_detect_converter).
  const disabled = merged.window_time === 'disable';
  return {
    enable: merged.enable && !disabled,
    windowMs: merged.window_time === 'disable' ? DEFAULT_WINDOW_MS : parseDuration(merged.window_time),
    maxCount: merged.max_count,
    banSeconds: Math.floor(parseDuration(merged.ban_time) / 1000),
  };
}

/** `flapping_detect` and each `zones.<name>.flapping_detect`, for FlappingDetector. */
export function flappingSettings(config: Pick<GatehouseConfig, 'flapping_detect' | 'zones'>): FlappingSettings {
  const zones: Record<string, FlappingPolicy> = {};
  for (const [name, zone] of Object.entries(config.zones)) zones[name] = flappingPolicy(config.flapping_detect, zone.flapping_detect);
  return { global: flappingPolicy(config.flapping_detect), zones };
}

/** `authentication_settings.login_failures`, for LoginFailureTracker. */
export function loginFailureSettings(config: Pick<GatehouseConfig, 'authentication_settings'>): LoginFailureSettings {
  const block = config.authentication_settings.login_failures;
  return {
    maxCount: block.max_count,
    windowMs: parseDuration(block.window_time),
    banSeconds: Math.floor(parseDuration(block.ban_time) / 1000),
  };
}

/**
 * A listener's `zone` must name a `zones.<name>` block, or be `default` (EMQX's zone that
 * always exists): an unknown zone would silently fall back to the global settings.
 */
export function zoneProblems(config: GatehouseConfig): ConfigProblem[] {
  return configuredListeners(config).flatMap(({ path, listener }) => {
    const zone = listener.zone;
    if (zone === undefined || zone === 'default' || Object.hasOwn(config.zones, zone)) return [];
    const known = ['default', ...Object.keys(config.zones)].map((z) => JSON.stringify(z)).join(', ');
    return [{ path: `${path}.zone`, message: `zone ${JSON.stringify(zone)} is not defined: add a zones.${zone} block (its flapping_detect) or use one of ${known}` }];
  });
}
