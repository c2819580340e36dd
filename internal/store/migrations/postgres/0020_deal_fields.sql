-- Deals get admin-defined custom fields (custom_fields.entity = 'deal').
-- Until now a deal's custom values were free key–values; every key in use
-- becomes a field definition, labelled with its key, typed number when
-- every value under it is a number, boolean when every one is true or
-- false, else text. From now on a deal's values are checked against the
-- definitions, and a key without one is refused.
INSERT INTO custom_fields (entity, key, label, type, options, currency, required, show_in_list, position, created_at, updated_at)
SELECT 'deal', j.key, j.key,
       CASE WHEN bool_and(jsonb_typeof(j.value) = 'number') THEN 'number'
            WHEN bool_and(jsonb_typeof(j.value) = 'boolean') THEN 'boolean'
            ELSE 'text' END,
       '[]', '', FALSE, FALSE, 0, now(), now()
FROM deals d, jsonb_each(d.custom) j
WHERE d.custom <> '{}'::jsonb AND jsonb_typeof(j.value) <> 'null'
  AND NOT EXISTS (SELECT 1 FROM custom_fields c WHERE c.entity = 'deal' AND c.key = j.key)
GROUP BY j.key;
