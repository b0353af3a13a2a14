-- sagas.db: the schema of version 1, frozen by `stores freeze` on 2026-11-21.
-- Never edit: change the schema with a new migration and a new version.
CREATE TABLE saga (
  id         TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('pending', 'running', 'compensating', 'done', 'failed')),
  payload    TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX idx_saga_state ON saga(state, updated_at);
CREATE TABLE saga_step (
  saga_id    TEXT NOT NULL REFERENCES saga(id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  name       TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('pending', 'done', 'compensated', 'failed')),
  result     TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (saga_id, idx)
);
