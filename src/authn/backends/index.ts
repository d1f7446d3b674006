// Every authenticator backend registers itself on import: one line per backend.
import './built_in_database/index.js';
