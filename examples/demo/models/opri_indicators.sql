-- name: opri_indicators
-- description: OPRI education indicators per country and year, without missing values
SELECT indicator_id, country_id, year, value
FROM landing.opri
WHERE value IS NOT NULL
