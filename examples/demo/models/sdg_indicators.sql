-- name: sdg_indicators
-- description: SDG indicator values per country and year, without missing values
SELECT indicator_id, country_id, year, value
FROM landing.sdg
WHERE value IS NOT NULL
