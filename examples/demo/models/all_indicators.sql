-- name: all_indicators
-- description: Every indicator of every source in one long table, tagged with its source
SELECT 'sdg' AS source, * FROM staging.sdg_indicators
UNION ALL
SELECT 'wdi' AS source, * FROM staging.wdi_indicators
UNION ALL
SELECT 'opri' AS source, * FROM staging.opri_indicators
