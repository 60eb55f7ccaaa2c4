-- Twin of migrations/postgres/20261205000100_page_weight_view.sql: one row per
-- WEIGHT metric row, its nested attribution spread into a column per resource
-- type and quantity (0 when the type is absent). Times: received_at_ms (epoch
-- ms) and received_at (ISO 8601 text, UTC).
CREATE VIEW page_weight AS
SELECT site, page_view_id, received_at_ms,
       strftime('%Y-%m-%dT%H:%M:%fZ', received_at_ms / 1000.0, 'unixepoch') AS received_at,
       url, path, route, release, form_factor, browser, country, connection, sample_rate,
       COALESCE(CAST(json_extract(attribution, '$.types.document.encoded') AS REAL), 0.0) AS document_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.document.decoded') AS REAL), 0.0) AS document_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.document.transfer') AS REAL), 0.0) AS document_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.document.requests') AS REAL), 0.0) AS document_requests,
       COALESCE(CAST(json_extract(attribution, '$.types.script.encoded') AS REAL), 0.0) AS script_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.script.decoded') AS REAL), 0.0) AS script_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.script.transfer') AS REAL), 0.0) AS script_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.script.requests') AS REAL), 0.0) AS script_requests,
       COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.encoded') AS REAL), 0.0) AS stylesheet_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.decoded') AS REAL), 0.0) AS stylesheet_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.transfer') AS REAL), 0.0) AS stylesheet_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.requests') AS REAL), 0.0) AS stylesheet_requests,
       COALESCE(CAST(json_extract(attribution, '$.types.image.encoded') AS REAL), 0.0) AS image_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.image.decoded') AS REAL), 0.0) AS image_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.image.transfer') AS REAL), 0.0) AS image_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.image.requests') AS REAL), 0.0) AS image_requests,
       COALESCE(CAST(json_extract(attribution, '$.types.media.encoded') AS REAL), 0.0) AS media_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.media.decoded') AS REAL), 0.0) AS media_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.media.transfer') AS REAL), 0.0) AS media_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.media.requests') AS REAL), 0.0) AS media_requests,
       COALESCE(CAST(json_extract(attribution, '$.types.font.encoded') AS REAL), 0.0) AS font_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.font.decoded') AS REAL), 0.0) AS font_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.font.transfer') AS REAL), 0.0) AS font_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.font.requests') AS REAL), 0.0) AS font_requests,
       COALESCE(CAST(json_extract(attribution, '$.types.other.encoded') AS REAL), 0.0) AS other_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.other.decoded') AS REAL), 0.0) AS other_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.other.transfer') AS REAL), 0.0) AS other_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.other.requests') AS REAL), 0.0) AS other_requests,
       value AS total_encoded,
       COALESCE(CAST(json_extract(attribution, '$.types.document.decoded') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.script.decoded') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.decoded') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.image.decoded') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.media.decoded') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.font.decoded') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.other.decoded') AS REAL), 0.0) AS total_decoded,
       COALESCE(CAST(json_extract(attribution, '$.types.document.transfer') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.script.transfer') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.transfer') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.image.transfer') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.media.transfer') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.font.transfer') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.other.transfer') AS REAL), 0.0) AS total_transfer,
       COALESCE(CAST(json_extract(attribution, '$.types.document.requests') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.script.requests') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.requests') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.image.requests') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.media.requests') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.font.requests') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.other.requests') AS REAL), 0.0) AS total_requests,
       COALESCE(CAST(json_extract(attribution, '$.types.document.unknown') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.script.unknown') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.stylesheet.unknown') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.image.unknown') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.media.unknown') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.font.unknown') AS REAL), 0.0)
         + COALESCE(CAST(json_extract(attribution, '$.types.other.unknown') AS REAL), 0.0) AS unknown_requests,
       CASE WHEN json_type(attribution, '$.heap') IN ('integer', 'real')
            THEN CAST(json_extract(attribution, '$.heap') AS REAL) END AS heap_bytes,
       COALESCE(json_extract(attribution, '$.incomplete'), 0) NOT IN (0, '0', 'false') AS incomplete
FROM metric
-- json_extract raises on text that is not JSON; the collector only stores JSON,
-- but a hand-inserted row must not break the view.
WHERE name = 'WEIGHT' AND (attribution IS NULL OR json_valid(attribution));
