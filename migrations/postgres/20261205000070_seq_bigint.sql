-- Beacon sequence numbers are 64-bit: an INTEGER column made the collector clamp
-- every seq above 2^31-1 to the same value, so a newer re-send compared equal to
-- an older one and was ignored. Rewrites every day partition once.
ALTER TABLE metric ALTER COLUMN seq TYPE BIGINT;
