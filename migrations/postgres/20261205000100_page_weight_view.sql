-- Page weight per page view, for analysts: one row per WEIGHT metric row (the
-- agent sends one per page view, see vitals-core/src/weight.rs), its nested
-- attribution spread into a column per resource type and quantity. Bytes are
-- as the browser reports them (encoded = compressed body, decoded =
-- uncompressed body, transfer = encoded + headers, 0 when served from cache);
-- requests whose sizes the browser hides are in *_requests and unknown_requests
-- but not in the byte columns. A type the page view did not load is 0.

-- A number at `path` in a JSON object, 0 when missing or not a number, so one
-- odd row never makes the whole view fail on a cast.
CREATE FUNCTION strray_weight_num(a JSONB, path TEXT[]) RETURNS DOUBLE PRECISION
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN jsonb_typeof(a #> path) = 'number' THEN (a #>> path)::float8 ELSE 0 END;

CREATE VIEW page_weight AS
SELECT site, page_view_id, received_at, url, path, route, release, form_factor, browser,
       country, connection, sample_rate,
       strray_weight_num(attribution, '{types,document,encoded}') AS document_encoded,
       strray_weight_num(attribution, '{types,document,decoded}') AS document_decoded,
       strray_weight_num(attribution, '{types,document,transfer}') AS document_transfer,
       strray_weight_num(attribution, '{types,document,requests}') AS document_requests,
       strray_weight_num(attribution, '{types,script,encoded}') AS script_encoded,
       strray_weight_num(attribution, '{types,script,decoded}') AS script_decoded,
       strray_weight_num(attribution, '{types,script,transfer}') AS script_transfer,
       strray_weight_num(attribution, '{types,script,requests}') AS script_requests,
       strray_weight_num(attribution, '{types,stylesheet,encoded}') AS stylesheet_encoded,
       strray_weight_num(attribution, '{types,stylesheet,decoded}') AS stylesheet_decoded,
       strray_weight_num(attribution, '{types,stylesheet,transfer}') AS stylesheet_transfer,
       strray_weight_num(attribution, '{types,stylesheet,requests}') AS stylesheet_requests,
       strray_weight_num(attribution, '{types,image,encoded}') AS image_encoded,
       strray_weight_num(attribution, '{types,image,decoded}') AS image_decoded,
       strray_weight_num(attribution, '{types,image,transfer}') AS image_transfer,
       strray_weight_num(attribution, '{types,image,requests}') AS image_requests,
       strray_weight_num(attribution, '{types,media,encoded}') AS media_encoded,
       strray_weight_num(attribution, '{types,media,decoded}') AS media_decoded,
       strray_weight_num(attribution, '{types,media,transfer}') AS media_transfer,
       strray_weight_num(attribution, '{types,media,requests}') AS media_requests,
       strray_weight_num(attribution, '{types,font,encoded}') AS font_encoded,
       strray_weight_num(attribution, '{types,font,decoded}') AS font_decoded,
       strray_weight_num(attribution, '{types,font,transfer}') AS font_transfer,
       strray_weight_num(attribution, '{types,font,requests}') AS font_requests,
       strray_weight_num(attribution, '{types,other,encoded}') AS other_encoded,
       strray_weight_num(attribution, '{types,other,decoded}') AS other_decoded,
       strray_weight_num(attribution, '{types,other,transfer}') AS other_transfer,
       strray_weight_num(attribution, '{types,other,requests}') AS other_requests,
       value AS total_encoded,
       strray_weight_num(attribution, '{types,document,decoded}') + strray_weight_num(attribution, '{types,script,decoded}') + strray_weight_num(attribution, '{types,stylesheet,decoded}') + strray_weight_num(attribution, '{types,image,decoded}') + strray_weight_num(attribution, '{types,media,decoded}') + strray_weight_num(attribution, '{types,font,decoded}') + strray_weight_num(attribution, '{types,other,decoded}') AS total_decoded,
       strray_weight_num(attribution, '{types,document,transfer}') + strray_weight_num(attribution, '{types,script,transfer}') + strray_weight_num(attribution, '{types,stylesheet,transfer}') + strray_weight_num(attribution, '{types,image,transfer}') + strray_weight_num(attribution, '{types,media,transfer}') + strray_weight_num(attribution, '{types,font,transfer}') + strray_weight_num(attribution, '{types,other,transfer}') AS total_transfer,
       strray_weight_num(attribution, '{types,document,requests}') + strray_weight_num(attribution, '{types,script,requests}') + strray_weight_num(attribution, '{types,stylesheet,requests}') + strray_weight_num(attribution, '{types,image,requests}') + strray_weight_num(attribution, '{types,media,requests}') + strray_weight_num(attribution, '{types,font,requests}') + strray_weight_num(attribution, '{types,other,requests}') AS total_requests,
       strray_weight_num(attribution, '{types,document,unknown}') + strray_weight_num(attribution, '{types,script,unknown}') + strray_weight_num(attribution, '{types,stylesheet,unknown}') + strray_weight_num(attribution, '{types,image,unknown}') + strray_weight_num(attribution, '{types,media,unknown}') + strray_weight_num(attribution, '{types,font,unknown}') + strray_weight_num(attribution, '{types,other,unknown}') AS unknown_requests,
       CASE WHEN jsonb_typeof(attribution -> 'heap') = 'number'
            THEN (attribution ->> 'heap')::float8 END AS heap_bytes,
       CASE jsonb_typeof(attribution -> 'incomplete')
            WHEN 'number' THEN (attribution ->> 'incomplete')::float8 <> 0
            WHEN 'boolean' THEN (attribution ->> 'incomplete')::boolean
            ELSE false END AS incomplete
FROM metric
WHERE name = 'WEIGHT';
COMMENT ON VIEW page_weight IS
    'One row per page view that sent page weight (metric WEIGHT): dimensions, then per resource type (document, script, stylesheet, image, media, font, other) and total the compressed (encoded), uncompressed (decoded) and transfer bytes and the requests; unknown_requests = requests whose sizes were hidden (cross-origin without Timing-Allow-Origin, not in the byte sums); heap_bytes = used JS heap (Chromium, NULL elsewhere); incomplete = the resource buffer was full before the agent started. Weight rows by 1 / sample_rate. Filter on site and received_at for speed.';
