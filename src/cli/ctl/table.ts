/**
 * etcdctl's `-w table` output: github.com/olekukonko/tablewriter as etcdctl 3.4 configures it
 * (borders, header centred and upper-cased, a line under the header, every cell right-aligned,
 * cells wrapped at 30 columns on spaces). Line breaking uses a greedy fill where tablewriter
 * minimises raggedness; the two differ only for cells over 30 columns with several spaces.
 */

const MAX_CELL_WIDTH = 30;

/** tablewriter's Title: '_' and '.' between non-digits become spaces; upper case. */
function title(name: string): string {
  const rs = [...name];
  const numOrSpace = (c: string | undefined): boolean => c !== undefined && /[0-9 ]/.test(c);
  rs.forEach((r, i) => {
    if (r === '_') rs[i] = ' ';
    else if (r === '.' && ((i !== 0 && !numOrSpace(rs[i - 1])) || (i !== rs.length - 1 && !numOrSpace(rs[i + 1])))) rs[i] = ' ';
  });
  const out = rs.join('').trim();
  return (out.length === 0 && name.length > 0 ? ' ' : out).toUpperCase();
}

function wrap(cell: string): string[] {
  const words = cell.replace(/\n/g, ' ').split(' ');
  const longest = Math.max(...words.map((w) => w.length));
  const limit = Math.max(Math.min(cell.length, MAX_CELL_WIDTH), longest);
  if (cell.length <= limit) return [cell];
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= limit) line += ' ' + w;
    else {
      lines.push(line);
      line = w;
    }
  }
  lines.push(line);
  return lines;
}

const padLeft = (s: string, width: number): string => ' '.repeat(Math.max(0, width - s.length)) + s;
/** tablewriter's Pad: centred, the odd space on the right. */
const padCenter = (s: string, width: number): string => {
  const gap = width - s.length;
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
};

export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const headerLines = header.map(wrap);
  const rowLines = rows.map((r) => r.map(wrap));
  const widths = header.map((_, c) => Math.max(...[headerLines[c] ?? [], ...rowLines.map((r) => r[c] ?? [])].flat().map((l) => l.length)));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  let out = rule;
  const headerHeight = Math.max(...headerLines.map((l) => l.length));
  for (let x = 0; x < headerHeight; x++) {
    out += '|' + widths.map((w, c) => ` ${padCenter(title(headerLines[c]?.[x] ?? ''), w)} `).join('|') + '|\n';
  }
  out += rule;
  for (const cells of rowLines) {
    const height = Math.max(...cells.map((l) => l.length));
    for (let x = 0; x < height; x++) {
      out += '|' + widths.map((w, c) => ` ${padLeft(cells[c]?.[x] ?? '  ', w)} `).join('|') + '|\n';
    }
  }
  return out + rule;
}
