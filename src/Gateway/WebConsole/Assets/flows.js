// Flows page: nations as nodes, indicator flows as edges with live counts, drawn with Cytoscape.js (vendored, see THIRD-PARTY.md).
// Loaded as an external script (the Content-Security-Policy allows no inline script); polls /flows.json every 2 seconds.
(function () {
  'use strict';
  var container = document.getElementById('flows');
  if (!container || typeof cytoscape !== 'function') { return; }
  var table = document.querySelector('#flow-table tbody');
  var cy = null;

  function label(flow) {
    return flow.indicators.toLocaleString('en') + (flow.withheld > 0 ? ' (' + flow.withheld.toLocaleString('en') + ' withheld)' : '');
  }

  function elements(data) {
    var items = data.nations.map(function (n) {
      return { group: 'nodes', data: { id: n.id, label: n.id.split('.')[0].toUpperCase() + '\n' + n.id, role: n.role } };
    });
    data.flows.forEach(function (f) {
      items.push({ group: 'edges', data: { id: f.from + '>' + f.to, source: f.from, target: f.to, label: label(f), weight: f.indicators } });
    });
    data.nations.filter(function (n) { return n.role === 'origin'; }).forEach(function (n) {
      var via = data.nations.filter(function (p) { return p.role === 'peer'; })[0];
      if (via) { items.push({ group: 'edges', data: { id: n.id + '~' + via.id, source: n.id, target: via.id, label: 'relay', relay: 1 } }); }
    });
    return items;
  }

  function render(data) {
    if (!cy) {
      cy = cytoscape({
        container: container,
        elements: elements(data),
        layout: { name: 'circle', padding: 60 },
        userZoomingEnabled: false,
        style: [
          { selector: 'node', style: { 'label': 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'center', 'color': '#fff', 'font-size': 12, 'width': 110, 'height': 110, 'background-color': '#2c4370' } },
          { selector: 'node[role = "self"]', style: { 'background-color': '#1f5fbf', 'border-width': 4, 'border-color': '#16243d' } },
          { selector: 'node[role = "origin"]', style: { 'background-color': '#8a96ab' } },
          { selector: 'edge', style: { 'curve-style': 'bezier', 'control-point-step-size': 90, 'target-arrow-shape': 'triangle', 'label': 'data(label)', 'font-size': 13, 'text-background-color': '#fff', 'text-background-opacity': 1, 'text-background-padding': 2, 'line-color': '#1b7f3b', 'target-arrow-color': '#1b7f3b', 'width': 3 } },
          { selector: 'edge[relay]', style: { 'line-style': 'dashed', 'line-color': '#8a96ab', 'target-arrow-color': '#8a96ab', 'width': 2 } }
        ]
      });
    } else {
      data.flows.forEach(function (f) {
        var edge = cy.getElementById(f.from + '>' + f.to);
        if (edge.nonempty()) { edge.data('label', label(f)); }
      });
    }
    if (table) {
      var rows = data.flows.map(function (f) {
        var tr = document.createElement('tr');
        [f.from, f.to, label(f)].forEach(function (text) { var td = document.createElement('td'); td.textContent = text; tr.appendChild(td); });
        return tr;
      });
      table.replaceChildren.apply(table, rows);
    }
    container.setAttribute('data-updated', new Date().toISOString());
  }

  function poll() {
    fetch(container.getAttribute('data-source'), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { if (!r.ok) { throw new Error('flows: HTTP ' + r.status); } return r.json(); })
      .then(render)
      .catch(function () { container.setAttribute('data-error', 'the node did not answer'); });
  }

  poll();
  setInterval(poll, 2000);
}());
