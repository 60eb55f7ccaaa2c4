/** Options of {@link init}; the script tag's `data-*` attributes, as an object. */
export interface InitOptions {
  /** Ingest URL, absolute or resolved against the page URL (e.g. `https://collector.example/v1/ingest`). */
  endpoint: string;
  /** The site key the collector knows. */
  site: string;
  /** Share of page views measured, (0, 1]; decided once per page view. Default 1. */
  sampleRate?: number;
  /** The page's release / version, for regression comparison. */
  release?: string;
  /** An explicit route template (e.g. `/product/:id`); default: the collector normalises the path. */
  route?: string;
  /** Do nothing when Global Privacy Control or Do-Not-Track is on. Default false. */
  respectPrivacy?: boolean;
  /** Opt-in SPA soft navigations (where the browser emits soft-navigation entries). Default false. */
  softNavs?: boolean;
  /** Where `agent_bg.wasm` is served (as `application/wasm`); default: next to this module. */
  wasmUrl?: string | URL;
}

/**
 * Starts the StrRay Vitals agent once per page. Resolves to whether it runs
 * (false: missing options, sampled out, privacy signal respected, or no
 * WebAssembly); never rejects and never throws into the page.
 */
export function init(options: InitOptions): Promise<boolean>;
