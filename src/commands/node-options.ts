/**
 * The options every command that works on a node's data offline takes (`users`, `psk`,
 * `acl`): the node's configuration file, a data directory that overrides its
 * `node.data_dir`, and help.
 */
export const NODE_OPTIONS = {
  config: { type: 'string', default: process.env['GATEHOUSE_CONFIG'] ?? 'etc/gatehouse.conf' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
