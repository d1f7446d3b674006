// The errors a transport reports to whoever adds or changes a listener (the composition
// root, the API, the CLI): each carries the listener id and a message safe to show.

/** A listener cannot bind its address (in use, not permitted, no such interface). */
export class ListenerStartError extends Error {
  constructor(readonly listenerId: string, readonly address: string, readonly code: string | undefined, message: string) {
    super(message);
    this.name = 'ListenerStartError';
  }
}

/** A listener's TLS files or settings cannot be used: the field and why, never a key or its password. */
export class TlsSettingsError extends Error {
  constructor(
    readonly listenerId: string,
    message: string,
  ) {
    super(`listener ${listenerId}: ${message}`);
    this.name = 'TlsSettingsError';
  }
}
