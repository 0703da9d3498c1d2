-- Community digital-technology teams: registration and latest member count.
-- A row may exist before its registration arrives (a members change came first): `level` and
-- `registered_at` are then NULL and the team is not yet counted (sources/community/state.py).
CREATE TABLE IF NOT EXISTS community_teams (
    team_id       text        PRIMARY KEY,
    level         text,
    district      text        NOT NULL,
    commune       text        NOT NULL,
    registered_at timestamptz,
    members       bigint      NOT NULL,
    members_at    timestamptz NOT NULL
);
COMMENT ON TABLE community_teams IS
    'Community digital teams: level and place from team.registered, members from the latest report (community.teams, community.members).';
