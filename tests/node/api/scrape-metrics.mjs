// Scrapes Wrenn's /metrics and parses it with a real Prometheus text-format parser (npm
// parse-prometheus-text-format), as a Prometheus server would read it.
// Usage: node scrape-metrics.mjs BASE_URL API_KEY
// Prints one JSON line: {status, families: [{name, type, metrics: [{labels, value, buckets, count}]}], text, error}
// (The parser folds a histogram's labelled series into one without labels: `text` keeps the lines.)
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const [base, key] = process.argv.slice(2);
const result = { status: null, contentType: null, families: [], text: null, error: null };
try {
  const response = await fetch(`${base}/metrics`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  result.status = response.status;
  result.contentType = response.headers.get('content-type');
  const text = await response.text();
  if (response.ok) {
    result.families = parsePrometheusTextFormat(text);
    result.text = text;
  }
} catch (e) {
  result.error = String(e?.message ?? e);
}
process.stdout.write(JSON.stringify(result) + '\n');
