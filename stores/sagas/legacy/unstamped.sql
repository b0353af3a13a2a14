-- Legacy sample: a sagas.db written before versioning (same tables, user_version = 0), with rows.
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
INSERT INTO saga VALUES ('g1', 'deploy', 'running', '{"env":"prod"}', 1700000000, 1700000005);
INSERT INTO saga VALUES ('g2', 'refund', 'done', '{}', 1700000000, 1700000009);
INSERT INTO saga_step VALUES ('g1', 0, 'build', 'done', '{"ok":true}', 1700000001), ('g1', 1, 'ship', 'pending', NULL, 1700000002);
