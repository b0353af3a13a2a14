-- filestore.db: the schema of version 1, frozen by `stores freeze` on 2026-11-21.
-- Never edit: change the schema with a new migration and a new version.
CREATE TABLE wave_file (
  zoneid    TEXT NOT NULL,
  name      TEXT NOT NULL,
  size      INTEGER NOT NULL DEFAULT 0,
  createdts INTEGER NOT NULL,
  modts     INTEGER NOT NULL,
  opts      TEXT NOT NULL DEFAULT '{}',
  meta      TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (zoneid, name)
);
CREATE TABLE file_data (
  zoneid  TEXT NOT NULL,
  name    TEXT NOT NULL,
  partidx INTEGER NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (zoneid, name, partidx),
  FOREIGN KEY (zoneid, name) REFERENCES wave_file(zoneid, name) ON DELETE CASCADE
);
