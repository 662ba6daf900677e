// Charts as SVG, drawn by our code: bars with their values at their ends. Every chart is one
// image with a name that says what it shows (role="img", aria-label), so a screen reader hears
// the figures the eye sees; labels are text nodes, never markup.
import {h, svg} from './dom.js';

function bar({x, y, w, height, value, cls, valueX}) {
  return [
    svg('rect', {class: cls, x, y, width: w, height, rx: 3, ry: 3}),
    svg('text', {class: 'bar-value', x: valueX ?? x + w + 6, y: y + height / 2 + 5}, String(value)),
  ];
}

export function barChart(items, {label, width = 480, barHeight = 26, gap = 10, labelWidth = 150} = {}) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const room = width - labelWidth - 60;
  const height = items.length * (barHeight + gap) + gap;
  const rows = items.map((item, i) => {
    const y = gap + i * (barHeight + gap);
    const w = Math.max(item.value ? 3 : 0, (item.value / max) * room);
    return svg('g', {class: `bar bar-${item.key || i}`, dataset: {key: item.key || '', value: item.value}},
      svg('text', {class: 'bar-label', x: labelWidth - 8, y: y + barHeight / 2 + 5, 'text-anchor': 'end'}, item.label),
      bar({x: labelWidth, y, w, height: barHeight, value: item.value}));
  });
  return svg('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, focusable: 'false'}, rows);
}

/** Two bars per item, one per series (before and after, say), with a legend above: each
 * item is {key, label, values: {<series key>: n}}; series is [{key, label}] of two. */
export function pairedBarChart(items, series, {label, width = 480, barHeight = 14, gap = 12, labelWidth = 150} = {}) {
  const max = Math.max(1, ...items.flatMap((i) => series.map((s) => i.values[s.key] || 0)));
  const room = width - labelWidth - 50;
  const rowHeight = series.length * barHeight + 2;
  const height = items.length * (rowHeight + gap) + gap;
  const rows = items.map((item, i) => {
    const y = gap + i * (rowHeight + gap);
    return svg('g', {class: 'pair', dataset: {key: item.key || ''}},
      svg('text', {class: 'bar-label', x: labelWidth - 8, y: y + rowHeight / 2 + 5, 'text-anchor': 'end'}, item.label),
      series.map((s, n) => {
        const value = item.values[s.key] ?? 0;
        const w = Math.max(value ? 3 : 0, (value / max) * room);
        return svg('g', {class: `bar series-${n}`, dataset: {series: s.key, value}},
          bar({x: labelWidth, y: y + n * (barHeight + 2), w, height: barHeight, value}));
      }));
  });
  const chart = svg('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, focusable: 'false'}, rows);
  const legend = h('ul', {class: 'legend', 'aria-hidden': 'true'},
    series.map((s, n) => h('li', {}, h('span', {class: `swatch series-${n}`}), s.label)));
  return h('figure', {class: 'chart-figure'}, legend, chart);
}
