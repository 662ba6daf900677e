// A bar chart as SVG, drawn by our code: one bar per item, its value at its end.
import {svg} from './dom.js';

export function barChart(items, {label, width = 480, barHeight = 26, gap = 10, labelWidth = 150} = {}) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const room = width - labelWidth - 60;
  const height = items.length * (barHeight + gap) + gap;
  const rows = items.map((item, i) => {
    const y = gap + i * (barHeight + gap);
    const w = Math.max(item.value ? 3 : 0, (item.value / max) * room);
    return svg('g', {class: `bar bar-${item.key || i}`, dataset: {key: item.key || '', value: item.value}},
      svg('text', {class: 'bar-label', x: labelWidth - 8, y: y + barHeight / 2 + 5, 'text-anchor': 'end'}, item.label),
      svg('rect', {x: labelWidth, y, width: w, height: barHeight, rx: 4, ry: 4}),
      svg('text', {class: 'bar-value', x: labelWidth + w + 8, y: y + barHeight / 2 + 5}, String(item.value)));
  });
  return svg('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, focusable: 'false'}, rows);
}
