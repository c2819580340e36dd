-- Deals get admin-defined custom fields (custom_fields.entity = 'deal').
-- Until now a deal's custom values were free key–values; every key in use
-- becomes a field definition, labelled with its key, typed number when
-- every value under it is a number, boolean when every one is true or
-- false, else text. From now on a deal's values are checked against the
-- definitions, and a key without one is refused.
INSERT INTO custom_fields (entity, key, label, type, options, currency, required, show_in_list, position, created_at, updated_at)
SELECT 'deal', j.key, j.key,
       CASE WHEN MIN(j.type IN ('integer', 'real')) = 1 THEN 'number'
            WHEN MIN(j.type IN ('true', 'false')) = 1 THEN 'boolean'
            ELSE 'text' END,
       '[]', '', FALSE, FALSE, 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now')
FROM deals d, json_each(d.custom) j
WHERE d.custom <> '{}' AND j.type <> 'null'
  AND NOT EXISTS (SELECT 1 FROM custom_fields c WHERE c.entity = 'deal' AND c.key = j.key)
GROUP BY j.key;
