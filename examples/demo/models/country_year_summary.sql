-- name: country_year_summary
-- description: Indicator count and mean value per country, year and source
SELECT country_id, year, source,
       count(*) AS indicators,
       round(avg(value), 4) AS mean_value
FROM staging.all_indicators
GROUP BY country_id, year, source
ORDER BY country_id, year, source
