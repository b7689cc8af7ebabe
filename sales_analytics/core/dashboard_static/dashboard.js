// The dashboard's behaviour: filters the embedded transactions with the slicers and redraws every
// KPI, chart and table of the three pages. Money is summed in integer cents, so the KPIs are exact
// and match the SQL over the marts. No network: the data and the chart library are in the page.

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

function byRevenueThenName(a, b) {
  return b.revenue - a.revenue || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
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

function selectedTransactions(selection) {
  const t = data.transactions;
  const rows = [];
  for (let i = 0; i < t.day.length; i += 1) {
    if (
      t.day[i] >= selection.fromDay &&
      t.day[i] <= selection.toDay &&
      selection.categories.has(t.category[i]) &&
      selection.segments.has(t.segment[i])
    ) {
      rows.push(i);
    }
  }
  return rows;
}

// --- measures ------------------------------------------------------------------------------

function summarize(rows, selection) {
  const t = data.transactions;
  const products = data.products;
  const customers = data.customers;
  let revenue = 0;
  let profit = 0;
  let units = 0;
  const byDay = new Map();
  const byCategory = new Map();
  const byCustomer = new Map();
  const byProduct = new Map();
  for (const i of rows) {
    revenue += t.revenue_cents[i];
    profit += t.profit_cents[i];
    units += t.quantity[i];
    const day = byDay.get(t.day[i]) ?? { revenue: 0, orders: 0 };
    day.revenue += t.revenue_cents[i];
    day.orders += 1;
    byDay.set(t.day[i], day);
    const category = byCategory.get(t.category[i]) ?? { revenue: 0, orders: 0 };
    category.revenue += t.revenue_cents[i];
    category.orders += 1;
    byCategory.set(t.category[i], category);
    const customer = byCustomer.get(t.customer[i]) ?? { revenue: 0, orders: 0 };
    customer.revenue += t.revenue_cents[i];
    customer.orders += 1;
    byCustomer.set(t.customer[i], customer);
    const product = byProduct.get(t.product[i]) ?? { revenue: 0, units: 0 };
    product.revenue += t.revenue_cents[i];
    product.units += t.quantity[i];
    byProduct.set(t.product[i], product);
  }
  const orders = rows.length;
  const customerCount = byCustomer.size;
  const kpis = {
    total_revenue: revenue,
    total_orders: orders,
    avg_order_value: divideRounded(revenue, orders),
    total_customers: customerCount,
    total_profit: profit,
    revenue_per_customer: divideRounded(revenue, customerCount),
    repeat_customers: [...byCustomer.values()].filter((customer) => customer.orders > 1).length,
    products_sold: byProduct.size,
    units_sold: units,
    revenue_per_unit: divideRounded(revenue, units),
  };

  const customerRows = [...byCustomer.entries()]
    .map(([index, totals]) => ({
      index,
      name: customers.name[index],
      segment: data.segments[customers.segment[index]],
      status: customers.status[index],
      revenue: totals.revenue,
      orders: totals.orders,
    }))
    .sort(byRevenueThenName);
  const productRows = [...byProduct.entries()]
    .map(([index, totals]) => ({
      index,
      name: products.name[index],
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
  const segmentCounts = groupCount(
    customerRows.map((row) => row.segment),
    data.segments,
  );
  const statusCounts = groupCount(
    customerRows.map((row) => row.status),
    data.customer_statuses,
  );
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
      product: row.name,
      category: row.category,
      revenue: row.revenue / 100,
    })),
    customers_by_segment: [...segmentCounts.entries()].map(([segment, count]) => ({
      segment,
      customers: count,
      share: customerCount ? count / customerCount : 0,
      label: `${formatCount(count)} (${customerCount ? ((100 * count) / customerCount).toFixed(1) : "0.0"}%)`,
    })),
    customers_by_status: [...statusCounts.entries()].map(([status, count]) => ({
      status,
      customers: count,
    })),
    revenue_by_customer: customerRows.map((row) => ({
      customer: row.name,
      revenue: row.revenue / 100,
    })),
    products_by_tier: [...tierCounts.entries()].map(([tier, count]) => ({
      tier,
      products: count,
    })),
  };
  const tables = {
    top_customers: customerRows
      .slice(0, 10)
      .map((row) => [row.name, row.segment, formatMoney(row.revenue), formatCount(row.orders)]),
    products: productRows.map((row) => [
      row.name,
      row.category,
      formatMoney(row.revenue),
      formatCount(row.units),
      row.performanceTier,
      row.priceTier,
    ]),
  };
  return { kpis, charts, tables };
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

function describeSelection(rows, selection) {
  const total = data.transactions.day.length;
  const parts = [`${formatCount(rows.length)} of ${formatCount(total)} transactions`];
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
  const rows = selectedTransactions(selection);
  const summary = summarize(rows, selection);
  renderKpis(summary.kpis);
  renderTables(summary.tables);
  describeSelection(rows, selection);
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
