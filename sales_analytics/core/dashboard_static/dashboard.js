// The dashboard's behaviour: filters the embedded sales (per day, product, category and segment)
// with the slicers and redraws every KPI, chart and table of the three pages. Customer figures come
// from each customer's sales per day and category when the page carries them (exact for every
// slicer), else from whole-period summaries per segment (they follow the segment slicer only, and
// the page says so). Money is summed in integer cents, so the KPIs are exact and match the SQL over
// the marts. No network: the data and the chart library are in the page. Each chart is as wide as
// its card and each KPI value as large as its card lets it be, whatever the window's width.

const data = JSON.parse(document.getElementById("dashboard-data").textContent);
const chartSpecs = JSON.parse(document.getElementById("chart-specs").textContent);
const root = document.documentElement;

const DAY_MS = 86400000;
const NO_VALUE = "\u2014";
const firstDayMs = data.first_day ? Date.parse(`${data.first_day}T00:00:00Z`) : 0;

function dayIndex(isoDay) {
  return Math.round((Date.parse(`${isoDay}T00:00:00Z`) - firstDayMs) / DAY_MS);
}

function isoDay(index) {
  return new Date(firstDayMs + index * DAY_MS).toISOString().slice(0, 10);
}

// Half away from zero, as the Python side's ROUND_HALF_UP.
function divideRounded(numerator, denominator) {
  if (!denominator) return null;
  const sign = numerator < 0 ? -1 : 1;
  return sign * Math.floor((2 * Math.abs(numerator) + denominator) / (2 * denominator));
}

function formatMoney(cents) {
  if (cents === null) return NO_VALUE;
  const sign = cents < 0 ? "-" : "";
  const absolute = Math.abs(cents);
  const dollars = Math.floor(absolute / 100).toLocaleString("en-US");
  return `${sign}$${dollars}.${String(absolute % 100).padStart(2, "0")}`;
}

function formatCount(count) {
  return count === null ? NO_VALUE : count.toLocaleString("en-US");
}

const FORMATS = { money: formatMoney, count: formatCount };

// --- time periods --------------------------------------------------------------------------

// "auto" adds revenue up per day over ranges up to AUTO_DAY_LIMIT days, per week up to
// AUTO_WEEK_LIMIT, per month beyond: about 10 to 60 bars, each wide enough to read.
const AUTO_DAY_LIMIT = 62;
const AUTO_WEEK_LIMIT = 182;
const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

function autoGrain(days) {
  return days <= AUTO_DAY_LIMIT ? "day" : days <= AUTO_WEEK_LIMIT ? "week" : "month";
}

// The period holding a day (an index from the first day): its first day and the day after its
// last. Weeks start on Monday (ISO), as DuckDB's date_trunc('week', ...).
function periodOf(grain, day) {
  const date = new Date(firstDayMs + day * DAY_MS);
  if (grain === "week") {
    const start = day - ((date.getUTCDay() + 6) % 7);
    return { start, end: start + 7 };
  }
  if (grain === "month") {
    const start = day - (date.getUTCDate() - 1);
    const next = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    return { start, end: Math.round((next - firstDayMs) / DAY_MS) };
  }
  return { start: day, end: day + 1 };
}

function periodName(grain, start) {
  if (grain === "week") return `Week of ${isoDay(start)}`;
  if (grain === "month") {
    const date = new Date(firstDayMs + start * DAY_MS);
    return `${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
  }
  return isoDay(start);
}

// Revenue and orders per period over the selected days [first, last], summed in whole cents
// from the days' totals; a period the range cuts short covers only its selected days.
function revenuePerPeriod(grain, first, last, byDay) {
  const periods = [];
  for (let day = first; day <= last; ) {
    const period = periodOf(grain, day);
    const until = Math.min(period.end - 1, last);
    let cents = 0;
    let orders = 0;
    for (let d = day; d <= until; d += 1) {
      const totals = byDay.get(d);
      if (totals) {
        cents += totals.revenue;
        orders += totals.orders;
      }
    }
    const length = period.end - period.start;
    const covered = until - day + 1;
    const name = periodName(grain, period.start);
    periods.push({
      start: isoDay(day),
      end: isoDay(until + 1),
      period: name,
      covered:
        covered === length
          ? `${length} of ${length}`
          : `${covered} of ${length} (${isoDay(day)} to ${isoDay(until)})`,
      revenue: cents / 100,
      orders,
      description: `${name}: ${formatMoney(cents)}, ${formatCount(orders)} orders`,
    });
    day = until + 1;
  }
  return periods;
}

// The time axis: a tick on each period's first day (each Monday when days are many), labelled
// with the day, or the month for months. A period the range cuts short gets no tick of its own.
const DAY_TICKS_LIMIT = 14;

function timeAxis(grain, first, last) {
  const tickGrain = grain === "day" && last - first + 1 > DAY_TICKS_LIMIT ? "week" : grain;
  const ticks = [];
  for (let day = first; day <= last; day = periodOf(tickGrain, day).end) {
    if (periodOf(tickGrain, day).start === day) ticks.push(firstDayMs + day * DAY_MS);
  }
  return {
    period_ticks: ticks,
    period_label_format: grain === "month" ? "%b %Y" : "%b %d",
  };
}

// --- labels --------------------------------------------------------------------------------

// Product names broken into lines of about LABEL_LINE_CHARS on spaces; the chart shows the first
// lines and the tooltip the whole name.
const LABEL_LINE_CHARS = 30;

function wrapLabel(text) {
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > LABEL_LINE_CHARS) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.join("\n");
}

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Ties by name, then by ID: two customers (or products) with one name stay two rows.
function byRevenueThenName(a, b) {
  return b.revenue - a.revenue || compareText(a.name, b.name) || compareText(a.id, b.id);
}

// Counts per key, in `order` (keys outside it last), leaving out keys that do not occur.
function groupCount(keys, order) {
  const counts = new Map(order.map((key) => [key, 0]));
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return new Map([...counts].filter(([, count]) => count > 0));
}

// --- slicers -------------------------------------------------------------------------------

const slicerFrom = document.getElementById("slicer-from");
const slicerTo = document.getElementById("slicer-to");
const categoryBoxes = [...document.querySelectorAll("input[name='slicer-category']")];
const segmentBoxes = [...document.querySelectorAll("input[name='slicer-segment']")];

const grainSelects = [...document.querySelectorAll("select[data-grain-for]")];

function currentSelection() {
  return {
    grains: Object.fromEntries(grainSelects.map((select) => [select.dataset.grainFor, select.value])),
    fromDay: slicerFrom.value ? dayIndex(slicerFrom.value) : -Infinity,
    toDay: slicerTo.value ? dayIndex(slicerTo.value) : Infinity,
    categories: new Set(categoryBoxes.filter((box) => box.checked).map((box) => Number(box.value))),
    segments: new Set(segmentBoxes.filter((box) => box.checked).map((box) => Number(box.value))),
  };
}

function resetSlicers() {
  slicerFrom.value = data.first_day ?? "";
  slicerTo.value = data.last_day ?? "";
  for (const box of [...categoryBoxes, ...segmentBoxes]) box.checked = true;
}

function inSelection(selection, day, category, segment) {
  return (
    day >= selection.fromDay &&
    day <= selection.toDay &&
    selection.categories.has(category) &&
    selection.segments.has(segment)
  );
}

function addTo(map, key, fields) {
  const totals = map.get(key) ?? Object.fromEntries(Object.keys(fields).map((name) => [name, 0]));
  for (const [name, value] of Object.entries(fields)) totals[name] += value;
  map.set(key, totals);
}

// --- measures ------------------------------------------------------------------------------

// Customers with sales in the selection, from every customer's sales per day and category.
function exactCustomers(selection) {
  const s = data.customer_sales;
  const byCustomer = new Map();
  for (let i = 0; i < s.customer.length; i += 1) {
    if (inSelection(selection, s.day[i], s.category[i], s.segment[i])) {
      addTo(byCustomer, s.customer[i], { revenue: s.revenue_cents[i], orders: s.orders[i] });
    }
  }
  const rows = [...byCustomer.entries()].map(([index, totals]) => ({
    index,
    id: data.customers.id[index],
    name: data.customers.name[index],
    segment: data.segments[data.customers.segment[index]],
    status: data.customers.status[index],
    revenue: totals.revenue,
    orders: totals.orders,
  }));
  const revenue = rows.reduce((sum, row) => sum + row.revenue, 0);
  return {
    count: rows.length,
    repeat: rows.filter((row) => row.orders > 1).length,
    revenue,
    top: rows.sort(byRevenueThenName).slice(0, 10),
    bySegment: groupCount(
      rows.map((row) => row.segment),
      data.segments,
    ),
    byStatus: groupCount(
      rows.map((row) => row.status),
      data.customer_statuses,
    ),
    revenueBuckets: rows.map((row) => ({ revenue: row.revenue / 100, customers: 1 })),
  };
}

// Customers with sales over the whole period in the selected segments, from the summaries.
function summarizedCustomers(selection) {
  const s = data.customer_summary;
  const bySegment = new Map(data.segments.map((segment) => [segment, 0]));
  const byStatus = new Map(data.customer_statuses.map((status) => [status, 0]));
  let count = 0;
  let repeat = 0;
  let revenue = 0;
  for (let i = 0; i < s.segment.length; i += 1) {
    if (!selection.segments.has(s.segment[i])) continue;
    count += s.customers[i];
    repeat += s.repeat_customers[i];
    revenue += s.revenue_cents[i];
    const segment = data.segments[s.segment[i]];
    bySegment.set(segment, bySegment.get(segment) + s.customers[i]);
    byStatus.set(s.status[i], (byStatus.get(s.status[i]) ?? 0) + s.customers[i]);
  }
  const c = data.customers;
  const top = c.id
    .map((id, index) => ({
      index,
      id,
      name: c.name[index],
      segment: data.segments[c.segment[index]],
      segmentIndex: c.segment[index],
      status: c.status[index],
      revenue: c.revenue_cents[index],
      orders: c.orders[index],
    }))
    .filter((row) => selection.segments.has(row.segmentIndex))
    .sort(byRevenueThenName)
    .slice(0, 10);
  const b = data.revenue_buckets;
  const revenueBuckets = [];
  for (let i = 0; i < b.segment.length; i += 1) {
    if (selection.segments.has(b.segment[i])) {
      revenueBuckets.push({ revenue: b.revenue_cents[i] / 100, customers: b.customers[i] });
    }
  }
  const nonZero = (map) => new Map([...map].filter(([, value]) => value > 0));
  return {
    count,
    repeat,
    revenue,
    top,
    bySegment: nonZero(bySegment),
    byStatus: nonZero(byStatus),
    revenueBuckets,
  };
}

function summarize(selection) {
  const s = data.sales;
  const products = data.products;
  let revenue = 0;
  let profit = 0;
  let units = 0;
  let orders = 0;
  const byDay = new Map();
  const byCategory = new Map();
  const byProduct = new Map();
  for (let i = 0; i < s.day.length; i += 1) {
    if (!inSelection(selection, s.day[i], s.category[i], s.segment[i])) continue;
    revenue += s.revenue_cents[i];
    profit += s.profit_cents[i];
    units += s.units[i];
    orders += s.orders[i];
    addTo(byDay, s.day[i], { revenue: s.revenue_cents[i], orders: s.orders[i] });
    addTo(byCategory, s.category[i], { revenue: s.revenue_cents[i], orders: s.orders[i] });
    addTo(byProduct, s.product[i], { revenue: s.revenue_cents[i], units: s.units[i] });
  }
  const customers = data.exact_customers ? exactCustomers(selection) : summarizedCustomers(selection);
  const kpis = {
    total_revenue: revenue,
    total_orders: orders,
    avg_order_value: divideRounded(revenue, orders),
    total_customers: customers.count,
    total_profit: profit,
    revenue_per_customer: divideRounded(customers.revenue, customers.count),
    repeat_customers: customers.repeat,
    products_sold: byProduct.size,
    units_sold: units,
    revenue_per_unit: divideRounded(revenue, units),
  };

  const productRows = [...byProduct.entries()]
    .map(([index, totals]) => ({
      index,
      id: products.id[index],
      name: products.name[index],
      label: products.label[index],
      category: data.categories[products.category[index]],
      performanceTier: products.performance_tier[index],
      priceTier: products.price_tier[index],
      revenue: totals.revenue,
      units: totals.units,
    }))
    .sort(byRevenueThenName);

  let revenueOverTime = [];
  let grain = selection.grains.revenue_over_time ?? "auto";
  const signals = {};
  if (data.first_day) {
    const first = Math.max(selection.fromDay, 0);
    const last = Math.min(selection.toDay, dayIndex(data.last_day));
    if (grain === "auto") grain = autoGrain(last - first + 1);
    revenueOverTime = revenuePerPeriod(grain, first, last, byDay);
    signals.revenue_over_time = timeAxis(grain, first, last);
  }
  const tierCounts = groupCount(
    productRows.map((row) => row.performanceTier),
    data.performance_tiers,
  );
  const charts = {
    revenue_over_time: revenueOverTime,
    revenue_by_category: [...byCategory.entries()].map(([index, totals]) => ({
      category: data.categories[index],
      revenue: totals.revenue / 100,
      orders: totals.orders,
    })),
    top_products: productRows.slice(0, 10).map((row) => ({
      product: wrapLabel(row.label),
      name: row.label,
      category: row.category,
      revenue: row.revenue / 100,
    })),
    customers_by_segment: [...customers.bySegment.entries()].map(([segment, count]) => ({
      segment,
      customers: count,
      share: customers.count ? count / customers.count : 0,
      label: `${formatCount(count)} (${customers.count ? ((100 * count) / customers.count).toFixed(1) : "0.0"}%)`,
    })),
    customers_by_status: [...customers.byStatus.entries()].map(([status, count]) => ({
      status,
      customers: count,
    })),
    revenue_by_customer: customers.revenueBuckets,
    products_by_tier: [...tierCounts.entries()].map(([tier, count]) => ({
      tier,
      products: count,
    })),
  };
  const tables = {
    top_customers: customers.top.map((row) => [
      row.id,
      row.name,
      row.segment,
      formatMoney(row.revenue),
      formatCount(row.orders),
    ]),
    products: productRows.map((row) => [
      row.name,
      row.category,
      formatMoney(row.revenue),
      formatCount(row.units),
      row.performanceTier,
      row.priceTier,
    ]),
  };
  return { kpis, charts, signals, tables, orders, grains: { revenue_over_time: grain } };
}

// --- rendering -----------------------------------------------------------------------------

const chartViews = new Map();
const fittedWidths = new WeakMap();
let layouts = 0;

// Each chart takes its card's width, now and whenever the card changes width (the window is
// resized, its page is shown). Only a new width redraws, so the height a redraw changes does not
// come back here.
const chartResizer = new ResizeObserver((entries) => {
  const redraws = [];
  for (const entry of entries) {
    const width = Math.floor(entry.contentRect.width);
    const view = chartViews.get(entry.target);
    if (!view || width <= 0 || fittedWidths.get(entry.target) === width) continue;
    fittedWidths.set(entry.target, width);
    redraws.push(view.width(width).runAsync());
  }
  if (redraws.length === 0) return;
  Promise.all(redraws)
    .then(() => {
      layouts += 1;
      root.dataset.layouts = String(layouts);
    })
    .catch(showError);
});

// A KPI value is drawn as large as its card allows (CSS) and, when its text is longer than the
// card is wide, smaller until it fits; below KPI_MIN_FONT_PX it wraps instead. It always shows
// the exact value.
const KPI_MIN_FONT_PX = 14;

function fitKpiValue(element) {
  element.style.fontSize = "";
  element.classList.remove("kpi-wrap");
  const width = element.clientWidth;
  if (!width || element.scrollWidth <= width) return;
  let size = Math.floor((parseFloat(getComputedStyle(element).fontSize) * width) / element.scrollWidth);
  element.style.fontSize = `${Math.max(size, KPI_MIN_FONT_PX)}px`;
  while (element.scrollWidth > element.clientWidth && size > KPI_MIN_FONT_PX) {
    size -= 1;
    element.style.fontSize = `${size}px`;
  }
  if (element.scrollWidth > element.clientWidth) element.classList.add("kpi-wrap");
}

const kpiWidths = new WeakMap();
const kpiResizer = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const width = Math.floor(entry.contentRect.width);
    if (width <= 0 || kpiWidths.get(entry.target) === width) continue;
    kpiWidths.set(entry.target, width);
    fitKpiValue(entry.target);
  }
});

async function embedCharts() {
  const pending = [...document.querySelectorAll("[data-chart]")].map(async (element) => {
    const result = await vegaEmbed(element, chartSpecs[element.dataset.chart], {
      actions: false,
      renderer: "svg",
    });
    chartViews.set(element, result.view);
    chartResizer.observe(element);
  });
  await Promise.all(pending);
}

function renderKpis(kpis) {
  for (const element of document.querySelectorAll("[data-kpi]")) {
    const format = FORMATS[element.dataset.format];
    element.textContent = format(kpis[element.dataset.kpi]);
    fitKpiValue(element);
  }
}

function renderGrains(grains) {
  for (const select of grainSelects) {
    const grain = grains[select.dataset.grainFor];
    const auto = select.querySelector("option[value='auto']");
    if (auto) auto.textContent = `Auto (${grain})`;
    const label = document.querySelector(`[data-grain-label='${select.dataset.grainFor}']`);
    if (label) label.textContent = `per ${grain}`;
  }
}

function renderTables(tables) {
  for (const table of document.querySelectorAll("table[data-table]")) {
    const numeric = [...table.querySelectorAll("thead th")].map((th) => th.classList.contains("num"));
    const body = table.tBodies[0];
    const rows = tables[table.dataset.table].map((cells) => {
      const row = document.createElement("tr");
      cells.forEach((text, column) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (numeric[column]) cell.className = "num";
        row.append(cell);
      });
      return row;
    });
    if (rows.length === 0) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = numeric.length;
      cell.className = "empty";
      cell.textContent = "No transactions in the selection";
      row.append(cell);
      rows.push(row);
    }
    body.replaceChildren(...rows);
  }
}

async function renderCharts(charts, signals) {
  await Promise.all(
    [...chartViews.entries()].map(([element, view]) => {
      for (const [name, value] of Object.entries(signals[element.dataset.chart] ?? {})) {
        view.signal(name, value);
      }
      return view.data("values", charts[element.dataset.chart]).runAsync();
    }),
  );
}

function describeSelection(orders, selection) {
  const total = data.transactions_total;
  const parts = [`${formatCount(orders)} of ${formatCount(total)} transactions`];
  if (selection.fromDay > selection.toDay) parts.push("the date range is empty (From is after To)");
  document.getElementById("selection-summary").textContent = parts.join("; ");
}

function showError(error) {
  root.dataset.error = String(error);
  document.getElementById("dashboard-error").hidden = false;
}

let renders = 0;
let queued = Promise.resolve();

async function render() {
  const selection = currentSelection();
  const summary = summarize(selection);
  renderKpis(summary.kpis);
  renderGrains(summary.grains);
  renderTables(summary.tables);
  describeSelection(summary.orders, selection);
  await renderCharts(summary.charts, summary.signals);
  renders += 1;
  root.dataset.renders = String(renders);
}

function update() {
  // Renders run one after another, so a quick series of slicer clicks ends on the last state;
  // a failed one is shown and does not stop the next.
  queued = queued.then(render).catch(showError);
  return queued;
}

// --- pages ---------------------------------------------------------------------------------

const tabs = [...document.querySelectorAll("[role='tab']")];

function showPage(slug) {
  const known = tabs.some((tab) => tab.dataset.page === slug);
  const target = known ? slug : tabs[0].dataset.page;
  for (const tab of tabs) {
    const selected = tab.dataset.page === target;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
  }
  root.dataset.page = target;
}

for (const tab of tabs) {
  tab.addEventListener("click", () => {
    history.replaceState(null, "", `#${tab.dataset.page}`);
    showPage(tab.dataset.page);
  });
}
window.addEventListener("hashchange", () => showPage(location.hash.slice(1)));

for (const input of [slicerFrom, slicerTo, ...categoryBoxes, ...segmentBoxes, ...grainSelects]) {
  input.addEventListener("change", update);
}
document.getElementById("slicer-reset").addEventListener("click", () => {
  resetSlicers();
  update();
});

window.addEventListener("error", (event) => showError(event.message));

try {
  showPage(location.hash.slice(1));
  resetSlicers();
  for (const element of document.querySelectorAll("[data-kpi]")) kpiResizer.observe(element);
  await embedCharts();
  await update();
  root.dataset.ready = "true";
} catch (error) {
  showError(error);
  throw error;
}
