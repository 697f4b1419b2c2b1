// The one contract every log source meets (STYLE.md: one tiny contract per pluggable part).
export interface LogSource {
  lines(): AsyncIterable<string>;
  close(): void;
}
