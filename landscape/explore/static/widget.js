// anywidget's entry: the live page inside a notebook. Python answers the page's two requests
// (landscape.explore.widget) through the widget's messages; the query is the widget's state.
export default {
  render({ model, el }) {
    let next = 0;
    const waiting = new Map();
    const listen = (msg) => {
      const w = waiting.get(msg.id);
      if (!w) return;
      waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error));
      else w.resolve(JSON.parse(msg.body));
    };
    model.on("msg:custom", listen);
    const ask = (kind) => (query) => new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      model.send({ kind, query, id });
    });
    const backend = {
      live: true,
      changed: (query) => { model.set("query", query); model.save_changes(); },
      surface: ask("surface"),
      trace: ask("trace"),
    };
    globalThis.LandscapeExplore.mount(el, backend, model.get("query"));
    return () => model.off("msg:custom", listen);
  },
};
