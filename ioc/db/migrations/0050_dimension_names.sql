-- The names behind the codes, for Grafana: every dimension value the registry (or a source)
-- names, written by the API at start from the registry it serves (ioc/names.py), so panels
-- say "Huyện Chiêm Hóa" and "Sở Tài chính", not CHIEM_HOA and SO_TAI_CHINH. Plain table: the
-- same on PostgreSQL and TimescaleDB.
CREATE TABLE IF NOT EXISTS dimension_names (
    dimension text NOT NULL,
    code      text NOT NULL,
    name_vi   text NOT NULL,
    name_en   text NOT NULL,
    parent    text,
    PRIMARY KEY (dimension, code)
);
COMMENT ON TABLE dimension_names IS 'Display names of dimension values, from the registry (GET /api/v1/dimensions/{name}); rewritten by the API at start.';
COMMENT ON COLUMN dimension_names.dimension IS 'Breakdown dimension or kind of registry place: district, commune, agency, endpoint, market, team, ...';
COMMENT ON COLUMN dimension_names.code IS 'The value as KPI rows and views carry it, e.g. CHIEM_HOA.';
COMMENT ON COLUMN dimension_names.name_vi IS 'Vietnamese name, e.g. Huyện Chiêm Hóa.';
COMMENT ON COLUMN dimension_names.name_en IS 'English name; where the registry has none, the Vietnamese one without diacritics.';
COMMENT ON COLUMN dimension_names.parent IS 'Code of the place it lies in: a commune''s district, a district agency''s district, a site''s or market''s commune; NULL at the top.';

-- ioc_name('agency', agency): the Vietnamese name of a value, or the value itself when the
-- registry does not name it (unknown, a value never registered).
CREATE OR REPLACE FUNCTION ioc_name(dim text, value text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT n.name_vi FROM dimension_names n WHERE n.dimension = dim AND n.code = value), value)
$$;
COMMENT ON FUNCTION ioc_name(text, text) IS
    'Vietnamese name of a dimension value (dimension_names), or the value itself when it has none.';

-- The state KPIs' history (kpi_state_history) with each breakdown value's names beside it.
CREATE OR REPLACE VIEW kpi_state_history_named AS
SELECT h.bucket, h.kpi, h.breakdown, h.breakdown_value,
       COALESCE(n.name_vi, h.breakdown_value) AS breakdown_name_vi,
       COALESCE(n.name_en, h.breakdown_value) AS breakdown_name_en,
       h.value
FROM kpi_state_history h
LEFT JOIN dimension_names n ON n.dimension = h.breakdown AND n.code = h.breakdown_value;
COMMENT ON VIEW kpi_state_history_named IS 'kpi_state_history with the names of each breakdown value.';
COMMENT ON COLUMN kpi_state_history_named.bucket IS 'The minute whose end the value was sampled at.';
COMMENT ON COLUMN kpi_state_history_named.kpi IS 'State KPI name, e.g. eoffice.backlog.';
COMMENT ON COLUMN kpi_state_history_named.breakdown IS 'Breakdown dimension (empty for the total).';
COMMENT ON COLUMN kpi_state_history_named.breakdown_value IS 'Dimension value, a code (empty for the total).';
COMMENT ON COLUMN kpi_state_history_named.breakdown_name_vi IS 'Vietnamese name of the value (the code where the registry has none).';
COMMENT ON COLUMN kpi_state_history_named.breakdown_name_en IS 'English name of the value (the code where the registry has none).';
COMMENT ON COLUMN kpi_state_history_named.value IS 'The KPI''s value at that minute.';

-- Staleness is no longer one age for every topic (IOC_STALE_AFTER_S): say so where it was said.
COMMENT ON COLUMN sources_now.event_age_seconds IS 'now() - newest_event_at, in seconds. Stale or not depends on the topic''s expected cadence and hours: /api/v1/sources, metric ioc_source_stale.';
