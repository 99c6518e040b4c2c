-- name: wdi_indicators
-- description: World Development Indicators per country and year, without missing values
SELECT indicator_id, country_id, year, value
FROM landing.wdi
WHERE value IS NOT NULL
