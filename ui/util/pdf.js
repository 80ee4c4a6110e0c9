// First-page previews of PDF attachments with pdf.js (ui/vendor/pdfjs/, see its README).
// The library (~1.7 MB with its worker) is imported only when a PDF preview is asked for.

let lib = null;

function pdfjs() {
  if (!lib) {
    lib = import("../vendor/pdfjs/pdf.min.mjs").then((m) => {
      m.GlobalWorkerOptions.workerSrc = new URL("../vendor/pdfjs/pdf.worker.min.mjs", import.meta.url).href;
      return m;
    });
    lib.catch(() => { lib = null; });
  }
  return lib;
}

/** The bytes of a `data:…;base64,…` URL. */
export function dataUrlBytes(url) {
  const bin = atob(url.slice(url.indexOf(",") + 1));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Draws page 1 of the PDF `bytes` into `canvas` for `width` CSS pixels (at 2× or the screen's
 * pixel ratio, so small print stays legible); resolves to the page count. */
export async function renderFirstPage(bytes, canvas, width = 320) {
  const { getDocument } = await pdfjs();
  const task = getDocument({ data: bytes, isEvalSupported: false, isOffscreenCanvasSupported: false });
  try {
    const doc = await task.promise;
    const page = await doc.getPage(1);
    const scale = (width / page.getViewport({ scale: 1 }).width) * Math.max(2, window.devicePixelRatio || 1);
    const viewport = page.getViewport({ scale });
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    return doc.numPages;
  } finally {
    task.destroy(); // also on a broken file: ends the document and frees the worker's copy
  }
}
