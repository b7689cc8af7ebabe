// The dashboard's behaviour: filters the embedded sales (per day, product, category and segment)
// with the slicers and redraws every KPI, chart and table of the three pages. Customer figures come
// from each customer's sales per day and category when the page carries them (exact for every
// slicer), else from whole-period summaries per segment (they follow the segment slicer only, and
// the page says so). Money is summed in integer cents, so the KPIs are exact and match the SQL over
// the marts. No network: the data and the chart library are in the page.

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

function currentSelection() {
  return {
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

  const days = [];
  if (data.first_day) {
    const first = Math.max(selection.fromDay, 0);
    const last = Math.min(selection.toDay, dayIndex(data.last_day));
    for (let day = first; day <= last; day += 1) {
      const totals = byDay.get(day) ?? { revenue: 0, orders: 0 };
      days.push({ day: isoDay(day), revenue: totals.revenue / 100, orders: totals.orders });
    }
  }
  const tierCounts = groupCount(
    productRows.map((row) => row.performanceTier),
    data.performance_tiers,
  );
  const charts = {
    revenue_over_time: days,
    revenue_by_category: [...byCategory.entries()].map(([index, totals]) => ({
      category: data.categories[index],
      revenue: totals.revenue / 100,
      orders: totals.orders,
    })),
    top_products: productRows.slice(0, 10).map((row) => ({
      product: row.label,
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
  return { kpis, charts, tables, orders };
}

// --- rendering -----------------------------------------------------------------------------

const chartViews = new Map();

async function embedCharts() {
  const pending = [...document.querySelectorAll("[data-chart]")].map(async (element) => {
    const result = await vegaEmbed(element, chartSpecs[element.dataset.chart], {
      actions: false,
      renderer: "svg",
    });
    chartViews.set(element, result.view);
  });
  await Promise.all(pending);
}

function renderKpis(kpis) {
  for (const element of document.querySelectorAll("[data-kpi]")) {
    const format = FORMATS[element.dataset.format];
    element.textContent = format(kpis[element.dataset.kpi]);
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

async function renderCharts(charts) {
  await Promise.all(
    [...chartViews.entries()].map(([element, view]) =>
      view.data("values", charts[element.dataset.chart]).runAsync(),
    ),
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
  renderTables(summary.tables);
  describeSelection(summary.orders, selection);
  await renderCharts(summary.charts);
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

for (const input of [slicerFrom, slicerTo, ...categoryBoxes, ...segmentBoxes]) {
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
  await embedCharts();
  await update();
  root.dataset.ready = "true";
} catch (error) {
  showError(error);
  throw error;
}
