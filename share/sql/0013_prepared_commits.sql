-- Loads that write their rollups on a second connection commit in two steps:
-- the rollups' transaction is prepared (PREPARE TRANSACTION), the raw rows'
-- transaction inserts its prepared id here and commits, then the prepared
-- one is committed and its row deleted. A row left here means the raw rows
-- were committed: a prepared transaction named here is committed by whoever
-- finds it orphaned, one not named here is rolled back (dm::db two_phase).
CREATE TABLE dm.prepared_commits (
    gid text PRIMARY KEY,
    committed_at timestamptz NOT NULL DEFAULT now()
);
